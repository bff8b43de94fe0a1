//! `[adapters.discogs]`: the adapter's settings, checked when it starts. The
//! personal token may be written in the config, or read from a file
//! (`token_file`) or an environment variable (`token_env`); it never shows.

use std::time::Duration;

use musique_sdk::settings::{Seconds, secret};
use musique_sdk::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::Value;

pub use musique_sdk::settings::Secret;

/// The real service.
pub const DEFAULT_API_URL: &str = "https://api.discogs.com";
/// Discogs refuses requests without a User-Agent naming the application.
pub const DEFAULT_USER_AGENT: &str =
    concat!("musique/", env!("CARGO_PKG_VERSION"), " +https://github.com/musique/musique");

/// The adapter's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whose collection to read.
    pub user: Option<String>,
    /// The personal access token (Discogs → Settings → Developers).
    pub token: Option<Secret>,
    /// The API root, without a trailing slash.
    pub api_url: String,
    pub user_agent: String,
    /// The request budget: Discogs allows 60 a minute with a token.
    pub requests_per_minute: u32,
    /// Items per collection page (at most 100).
    pub per_page: u32,
    /// How long one request may take.
    pub timeout: Duration,
}

/// The config table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    user: Option<String>,
    token: Option<String>,
    token_file: Option<String>,
    token_env: Option<String>,
    api_url: Option<String>,
    user_agent: Option<String>,
    requests_per_minute: Option<u32>,
    per_page: Option<u32>,
    timeout: Option<Seconds>,
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, format!("[adapters.discogs] {message}"))
}

impl Settings {
    /// Reads the config table (`null` when there is none). `env` looks up environment variables.
    pub fn parse(config: Value, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, Error> {
        let config = if config.is_null() { Value::Object(Default::default()) } else { config };
        let raw: Raw = serde_json::from_value(config).map_err(|err| invalid(err.to_string()))?;
        let api_url = raw.api_url.unwrap_or_else(|| DEFAULT_API_URL.to_owned()).trim_end_matches('/').to_owned();
        if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
            return Err(invalid("api_url must be an http:// or https:// address".to_owned()));
        }
        let user_agent = raw.user_agent.unwrap_or_else(|| DEFAULT_USER_AGENT.to_owned());
        if user_agent.trim().is_empty() {
            return Err(invalid("user_agent must name the application (Discogs refuses requests without one)".into()));
        }
        let requests_per_minute = raw.requests_per_minute.unwrap_or(60);
        if !(1..=100_000).contains(&requests_per_minute) {
            return Err(invalid("requests_per_minute must be between 1 and 100000".to_owned()));
        }
        let per_page = raw.per_page.unwrap_or(100);
        if !(1..=100).contains(&per_page) {
            return Err(invalid("per_page must be between 1 and 100".to_owned()));
        }
        let user = raw.user.map(|user| user.trim().to_owned()).filter(|user| !user.is_empty());
        if let Some(user) = &user
            && user.contains(['/', '?', '#', '%'])
        {
            return Err(invalid(format!("user {user:?} is not a Discogs user name")));
        }
        Ok(Settings {
            user,
            token: secret("token", raw.token, raw.token_file, raw.token_env, env).map_err(invalid)?,
            api_url,
            user_agent,
            requests_per_minute,
            per_page,
            timeout: match raw.timeout {
                Some(value) => value.duration("timeout").map_err(invalid)?,
                None => Duration::from_secs(8),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_name_musique_and_keep_to_the_budget() {
        let settings = Settings::parse(Value::Null, &no_env).unwrap();
        assert_eq!(settings.api_url, DEFAULT_API_URL);
        assert!(settings.user_agent.starts_with("musique/"), "{}", settings.user_agent);
        assert_eq!((settings.requests_per_minute, settings.per_page), (60, 100));
        assert!(settings.user.is_none() && settings.token.is_none());
        let settings =
            Settings::parse(json!({"user": " rj ", "api_url": "http://127.0.0.1:1/", "token_env": "T"}), &|name| {
                (name == "T").then(|| "sekrit".to_owned())
            })
            .unwrap();
        assert_eq!((settings.user.as_deref(), settings.api_url.as_str()), (Some("rj"), "http://127.0.0.1:1"));
        assert_eq!(settings.token.as_ref().unwrap().expose(), "sekrit");
        assert!(!format!("{settings:?}").contains("sekrit"));
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let cases = [
            (json!({"token": "a", "token_env": "B"}), "only one of token"),
            (json!({"token_env": "MISSING"}), "MISSING is not set"),
            (json!({"per_page": 500}), "per_page"),
            (json!({"requests_per_minute": 0}), "requests_per_minute"),
            (json!({"user_agent": " "}), "user_agent"),
            (json!({"user": "a/b"}), "not a Discogs user name"),
            (json!({"api_url": "ftp://x"}), "api_url"),
            (json!({"tokn": "x"}), "unknown field"),
        ];
        for (config, expected) in cases {
            let err = Settings::parse(config.clone(), &no_env).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput);
            assert!(err.message.contains(expected), "{config}: {}", err.message);
        }
    }
}
