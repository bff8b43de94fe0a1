//! The name of a listen's source (`spotify`, `lastfm`, a scrobbler's credential,
//! a plugin) and its one rule: 1 to 32 of `a-z`, `0-9`, `-`, `_`, `.`.

use std::fmt;

/// Longest source name, in bytes.
const MAX_LEN: usize = 32;

/// A valid source name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SourceName(String);

/// Why a name cannot be a source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} must be 1-32 of a-z, 0-9, '-', '_', '.'")]
pub(crate) struct InvalidSource(pub(crate) String);

impl SourceName {
    /// The name as given, when it keeps the rule.
    pub(crate) fn parse(name: &str) -> Result<SourceName, InvalidSource> {
        let valid = !name.is_empty() && name.len() <= MAX_LEN && name.bytes().all(allowed);
        if valid { Ok(SourceName(name.to_owned())) } else { Err(InvalidSource(name.to_owned())) }
    }

    /// A plugin's name made into a source: lowercased, other characters as `-`, cut at 32.
    pub(crate) fn of_plugin(plugin: &str) -> SourceName {
        let name: String = plugin
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .map(|c| if c.is_ascii() && allowed(c as u8) { c } else { '-' })
            .take(MAX_LEN)
            .collect();
        if name.is_empty() { SourceName("plugin".to_owned()) } else { SourceName(name) }
    }

    /// A name known to keep the rule (a constant of the daemon's).
    pub(crate) fn known(name: &'static str) -> SourceName {
        SourceName::parse(name).expect("a built-in source name keeps the rule")
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

fn allowed(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-_.".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        for good in ["rpc", "lastfm", "web-scrobbler", "my_phone.2", &"a".repeat(32)] {
            assert_eq!(SourceName::parse(good).map(|name| name.to_string()), Ok(good.to_owned()));
        }
        for bad in ["", "Last.fm", "a b", "é", &"a".repeat(33)] {
            assert!(SourceName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(SourceName::of_plugin("CSV Feed").as_str(), "csv-feed");
        assert_eq!(SourceName::of_plugin("").as_str(), "plugin");
        assert_eq!(SourceName::of_plugin(&"x".repeat(40)).as_str().len(), 32);
    }
}
