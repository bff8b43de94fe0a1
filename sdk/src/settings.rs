//! Helpers for adapters' settings (their `[adapters.<name>]` table): secrets
//! that may live in the config, a file or an environment variable and never
//! show, and durations written as seconds or with a unit. Errors are plain
//! messages naming the key; the adapter adds its table's name.

use std::time::Duration;

use serde::Deserialize;

/// A value that must never reach a log or an RPC answer.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Secret(…)")
    }
}

/// One secret from at most one of its three places: `name` itself, `name_file`
/// (a path) or `name_env` (a variable, looked up with `env`). Surrounding
/// whitespace is dropped; an empty secret is refused.
pub fn secret(
    name: &str,
    inline: Option<String>,
    file: Option<String>,
    variable: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, String> {
    let value = match (inline, file, variable) {
        (None, None, None) => return Ok(None),
        (Some(value), None, None) => value,
        (None, Some(path), None) => {
            std::fs::read_to_string(&path).map_err(|err| format!("{name}_file: cannot read {path}: {err}"))?
        }
        (None, None, Some(variable)) => {
            env(&variable).ok_or_else(|| format!("{name}_env: the variable {variable} is not set"))?
        }
        _ => return Err(format!("give only one of {name}, {name}_file and {name}_env")),
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{name} is empty"));
    }
    Ok(Some(Secret::new(value)))
}

/// A duration written as seconds (`30`, `0.5`) or with a unit (`"30s"`, `"2m"`, `"500ms"`, `"1h"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Seconds {
    /// Seconds.
    Number(f64),
    /// A number and a unit.
    Text(String),
}

impl Seconds {
    /// The duration, if it is above 0 and at most 24 hours; the message names the key.
    pub fn duration(&self, name: &str) -> Result<Duration, String> {
        let seconds = match self {
            Seconds::Number(seconds) => Some(*seconds),
            Seconds::Text(text) => {
                let text = text.trim();
                let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
                let (number, unit) = text.split_at(split);
                let number: Option<f64> = number.trim().parse().ok();
                match unit {
                    "" | "s" => number,
                    "ms" => number.map(|n| n / 1000.0),
                    "m" | "min" => number.map(|n| n * 60.0),
                    "h" => number.map(|n| n * 3600.0),
                    _ => None,
                }
            }
        };
        match seconds {
            Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0 => {
                Ok(Duration::from_secs_f64(seconds))
            }
            _ => Err(format!("{name} must be a duration between 0 and 24 hours, like 30 or \"2m\"")),
        }
    }
}
