//! `[adapters.lastfm]`: the adapter's settings, checked when it starts.
//!
//! Secrets (`api_key`, `shared_secret`) may be written in the config, or read
//! from a file (`api_key_file`) or an environment variable (`api_key_env`), so
//! the config file itself can be shared. They are kept in [`Secret`], whose
//! `Debug` never shows the value.

use std::time::Duration;

use musique_sdk::settings::Seconds;
pub use musique_sdk::settings::Secret;
use musique_sdk::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::Value;

/// The real service.
pub const DEFAULT_API_URL: &str = "https://ws.audioscrobbler.com/2.0/";
/// Where users allow an application.
pub const DEFAULT_AUTH_URL: &str = "https://www.last.fm/api/auth/";

/// The adapter's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The application's API key; every call needs it.
    pub api_key: Option<Secret>,
    /// The application's shared secret; signed calls (sign-in, love) need it.
    pub shared_secret: Option<Secret>,
    /// Whose history to read.
    pub user: Option<String>,
    /// The API root.
    pub api_url: String,
    /// The page users open to allow access.
    pub auth_url: String,
    /// The request budget.
    pub requests_per_second: f64,
    /// How often the live tracker polls.
    pub poll_interval: Duration,
    /// How long one request may take.
    pub timeout: Duration,
}

/// The config table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    api_key: Option<String>,
    api_key_file: Option<String>,
    api_key_env: Option<String>,
    shared_secret: Option<String>,
    shared_secret_file: Option<String>,
    shared_secret_env: Option<String>,
    user: Option<String>,
    api_url: Option<String>,
    auth_url: Option<String>,
    requests_per_second: Option<f64>,
    poll_interval: Option<Seconds>,
    timeout: Option<Seconds>,
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("[adapters.lastfm] {message}"))
}

impl Settings {
    /// Reads the config table (`null` when there is none). `env` looks up environment variables.
    pub fn parse(config: Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, Error> {
        let config = if config.is_null() { Value::Object(Default::default()) } else { config };
        let raw: Raw = serde_json::from_value(config).map_err(|err| invalid(err.to_string()))?;
        let requests_per_second = raw.requests_per_second.unwrap_or(5.0);
        if !(requests_per_second > 0.0 && requests_per_second <= 1000.0) {
            return Err(invalid("requests_per_second must be above 0 and at most 1000".to_owned()));
        }
        let api_url = raw.api_url.unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let auth_url = raw.auth_url.unwrap_or_else(|| DEFAULT_AUTH_URL.to_owned());
        for (name, url) in [("api_url", &api_url), ("auth_url", &auth_url)] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(format!("{name} must be an http:// or https:// address")));
            }
        }
        Ok(Settings {
            api_key: secret("api_key", raw.api_key, raw.api_key_file, raw.api_key_env, env)?,
            shared_secret: secret(
                "shared_secret",
                raw.shared_secret,
                raw.shared_secret_file,
                raw.shared_secret_env,
                env,
            )?,
            user: raw.user.filter(|user| !user.trim().is_empty()),
            api_url,
            auth_url,
            requests_per_second,
            poll_interval: match raw.poll_interval {
                Some(value) => value.duration("poll_interval").map_err(invalid)?,
                None => Duration::from_secs(30),
            },
            timeout: match raw.timeout {
                Some(value) => value.duration("timeout").map_err(invalid)?,
                None => Duration::from_secs(8),
            },
        })
    }
}

/// One secret from at most one of its three places.
fn secret(
    name: &str,
    inline: Option<String>,
    file: Option<String>,
    variable: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, Error> {
    musique_sdk::settings::secret(name, inline, file, variable, env).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_and_units() {
        let settings = Settings::parse(Value::Null, &no_env).unwrap();
        assert_eq!(settings.api_url, DEFAULT_API_URL);
        assert_eq!(settings.requests_per_second, 5.0);
        assert_eq!(settings.poll_interval, Duration::from_secs(30));
        assert!(settings.api_key.is_none());
        let settings = Settings::parse(json!({"poll_interval": "2m", "timeout": "500ms"}), &no_env).unwrap();
        assert_eq!(settings.poll_interval, Duration::from_secs(120));
        assert_eq!(settings.timeout, Duration::from_millis(500));
        assert_eq!(Settings::parse(json!({"poll_interval": 0.5}), &no_env).unwrap().poll_interval.as_millis(), 500);
    }

    #[test]
    fn secrets_come_from_the_config_a_file_or_the_environment_and_never_show() {
        let dir = std::env::temp_dir().join(format!("musique-lastfm-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let env = |name: &str| (name == "LASTFM_KEY").then(|| "from-env".to_owned());
        let settings = Settings::parse(
            json!({"api_key_env": "LASTFM_KEY", "shared_secret_file": file.to_str().unwrap(), "user": "rj"}),
            &env,
        )
        .unwrap();
        assert_eq!(settings.api_key.as_ref().unwrap().expose(), "from-env");
        assert_eq!(settings.shared_secret.as_ref().unwrap().expose(), "from-file");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("from-env") && !shown.contains("from-file"), "{shown}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let cases = [
            (json!({"api_key": "a", "api_key_env": "B"}), "only one of api_key"),
            (json!({"api_key_env": "MISSING"}), "MISSING is not set"),
            (json!({"api_key_file": "/nonexistent/key"}), "cannot read /nonexistent/key"),
            (json!({"api_key": "  "}), "api_key is empty"),
            (json!({"requests_per_second": 0}), "requests_per_second"),
            (json!({"poll_interval": "soon"}), "poll_interval"),
            (json!({"api_url": "ftp://x"}), "api_url"),
            (json!({"apikey": "x"}), "unknown field"),
        ];
        for (config, expected) in cases {
            let err = Settings::parse(config.clone(), &no_env).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput);
            assert!(err.message.contains(expected), "{config}: {}", err.message);
        }
    }
}
