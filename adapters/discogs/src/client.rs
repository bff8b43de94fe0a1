//! Talking to the Discogs API: the User-Agent and token headers, the request
//! budget, and turning every failure into an [`Error`] the host can act on.
//!
//! Discogs allows 60 requests a minute with a token, in a moving window, and
//! says how many are left in `X-Discogs-Ratelimit-Remaining`. Requests are
//! spaced evenly over the window (one a second at the default budget), which
//! keeps to it exactly; when the service says none are left, or answers 429,
//! the client waits a window, briefly inside the call, otherwise by telling the
//! host to retry later (`rate_limited` with `retry_after_ms`). The token is
//! sent in a header, never in a URL, so no message can show it.

use std::time::{Duration, Instant};

use musique_sdk::{Error, ErrorKind};
use serde_json::Value;

use crate::settings::{Secret, Settings};

/// The largest answer read (a release with a long tracklist is under 100 kB): memory stays bounded
/// whatever a server sends.
const MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;

/// Longest wait for the budget inside one call; a longer one goes back to the host.
const MAX_WAIT_IN_CALL: Duration = Duration::from_secs(2);

/// Spaces requests over the window and remembers when the service asked to wait.
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    window: Duration,
    next: Instant,
}

impl Pacer {
    /// Waits for the next request's turn, or says how long is left when that is too long.
    fn wait(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        let left = self.next.saturating_duration_since(now);
        if left > MAX_WAIT_IN_CALL {
            return Err(left);
        }
        std::thread::sleep(left);
        self.next = Instant::now().max(self.next) + self.interval;
        Ok(())
    }

    /// No request before a whole window has passed.
    fn hold_window(&mut self) {
        self.next = self.next.max(Instant::now() + self.window);
    }
}

/// The Discogs client of one adapter instance.
#[derive(Debug)]
pub struct Client {
    http: reqwest::blocking::Client,
    api_url: String,
    token: Option<Secret>,
    pacer: Pacer,
}

impl Client {
    /// A client for the settings' service and budget.
    pub fn new(settings: &Settings) -> Result<Client, Error> {
        let http = reqwest::blocking::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|err| Error::new(ErrorKind::Internal, format!("cannot build the HTTP client: {err}")))?;
        // The budget's window: a minute at the real budget, shorter for a larger one.
        let interval = Duration::from_secs_f64(60.0 / f64::from(settings.requests_per_minute));
        Ok(Client {
            http,
            api_url: settings.api_url.clone(),
            token: settings.token.clone(),
            pacer: Pacer { interval, window: interval * 60, next: Instant::now() },
        })
    }

    /// GETs `path` (with its query) under the API root; the answer's JSON body,
    /// or what went wrong. `what` names the resource in messages.
    pub fn get(&mut self, path: &str, what: &str) -> Result<Value, Error> {
        self.get_with(path, &[], what)
    }

    /// [`Client::get`] with query parameters, encoded.
    pub fn get_with(&mut self, path: &str, query: &[(&str, &str)], what: &str) -> Result<Value, Error> {
        if let Err(left) = self.pacer.wait() {
            return Err(Error::rate_limited(millis(left), "Discogs request budget used up; waiting for the window"));
        }
        let mut request = self.http.get(format!("{}{path}", self.api_url)).query(query);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Discogs token={}", token.expose()));
        }
        let response = request.send().map_err(|err| transport(what, err))?;
        let status = response.status().as_u16();
        let remaining = response
            .headers()
            .get("X-Discogs-Ratelimit-Remaining")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<i64>().ok());
        if status == 429 || remaining.is_some_and(|remaining| remaining <= 0) {
            self.pacer.hold_window();
        }
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_BODY_BYTES + 1), &mut body)
            .map_err(|_| Error::new(ErrorKind::Unavailable, format!("Discogs {what}: the connection failed")))?;
        if body.len() as u64 > MAX_BODY_BYTES {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("Discogs {what}: an answer larger than {} MB", MAX_BODY_BYTES / 1024 / 1024),
            ));
        }
        judge(what, status, &body, self.pacer.window)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A failure before an answer: timeouts and connection errors are worth retrying.
fn transport(what: &str, err: reqwest::Error) -> Error {
    let why = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "the connection failed"
    };
    // Without the error's own text: it may carry the URL.
    Error::new(ErrorKind::Unavailable, format!("Discogs {what}: {why}"))
}

/// Judges an answer: its JSON body, or an error whose kind says what to do.
pub fn judge(what: &str, status: u16, body: &[u8], window: Duration) -> Result<Value, Error> {
    let message = || {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|value| value["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"))
    };
    let fail = |kind: ErrorKind, text: String| Err(Error::new(kind, format!("Discogs {what}: {text}")));
    match status {
        200..=299 => serde_json::from_slice(body).or_else(|err| {
            fail(ErrorKind::Unavailable, format!("the answer is not whole JSON ({} bytes: {err})", body.len()))
        }),
        401 => fail(
            ErrorKind::Unauthorized,
            format!(
                "the token was refused ({}); set a personal access token (token, token_file or token_env in [adapters.discogs])",
                message()
            ),
        ),
        403 => fail(
            ErrorKind::Unauthorized,
            format!(
                "access denied ({}): the collection is private and the token is not its owner's, or the User-Agent was refused",
                message()
            ),
        ),
        404 => fail(ErrorKind::InvalidInput, format!("not found ({})", message())),
        429 => Err(Error::rate_limited(millis(window), format!("Discogs {what}: too many requests ({})", message()))),
        500..=599 => fail(ErrorKind::Unavailable, format!("the service failed (HTTP {status})")),
        _ => fail(ErrorKind::Unavailable, format!("unexpected HTTP {status} ({})", message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_gets_a_kind_and_a_clear_message() {
        let window = Duration::from_secs(60);
        let cases: [(u16, &[u8], ErrorKind, &str); 7] = [
            (
                401,
                br#"{"message": "You must authenticate to access this resource."}"#,
                ErrorKind::Unauthorized,
                "token",
            ),
            (
                403,
                br#"{"message": "You don't have permission to access this resource."}"#,
                ErrorKind::Unauthorized,
                "private",
            ),
            (403, b"<html>blocked</html>", ErrorKind::Unauthorized, "HTTP 403"),
            (
                404,
                br#"{"message": "User does not exist or may have been deleted."}"#,
                ErrorKind::InvalidInput,
                "User does not exist",
            ),
            (429, br#"{"message": "You are making requests too quickly."}"#, ErrorKind::RateLimited, "too many"),
            (502, b"", ErrorKind::Unavailable, "HTTP 502"),
            (200, br#"{"releases": [{"id": 1"#, ErrorKind::Unavailable, "not whole JSON"),
        ];
        for (status, body, kind, text) in cases {
            let err = judge("collection", status, body, window).unwrap_err();
            assert_eq!(err.kind, kind, "{status}");
            assert!(err.message.contains(text), "{status}: {}", err.message);
        }
        let limited = judge("collection", 429, b"{}", window).unwrap_err();
        assert_eq!(limited.retry_after_ms, Some(60_000));
        assert_eq!(judge("release", 200, br#"{"id": 1}"#, window).unwrap()["id"], 1);
    }
}
