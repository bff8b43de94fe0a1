//! Talking to the Last.fm API: request signing, the request budget, and
//! turning every kind of failure into an [`Error`] the host can act on.
//!
//! Last.fm's HTTP status is unreliable (some errors come with 200), so an
//! answer is judged by its body: an integer `error` key is an error, whatever
//! the status. Secrets never appear in messages: transport errors are shown
//! without their URL, which carries the API key.

use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use musique_sdk::{Error, ErrorKind};
use serde_json::Value;

use crate::codes::ErrorCode;
use crate::settings::{Secret, Settings};

/// The `api_sig` of a call: MD5 over the parameters sorted by name (bytes),
/// each name followed by its value, then the shared secret. `format` and
/// `callback` are not signed.
pub fn api_sig(params: &[(&str, &str)], secret: &str) -> String {
    let mut sorted: Vec<&(&str, &str)> =
        params.iter().filter(|(name, _)| !matches!(*name, "format" | "callback" | "api_sig")).collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut hasher = Md5::new();
    for (name, value) in sorted {
        hasher.update(name.as_bytes());
        hasher.update(value.as_bytes());
    }
    hasher.update(secret.as_bytes());
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The largest answer read (a page of 200 scrobbles is under 200 kB): memory stays bounded
/// whatever a server sends.
const MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;

/// Spaces requests to keep to the budget.
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next = Instant::now().max(self.next) + self.interval;
    }
}

/// The Last.fm client of one adapter instance.
#[derive(Debug)]
pub struct Client {
    http: reqwest::blocking::Client,
    api_url: String,
    api_key: Option<Secret>,
    shared_secret: Option<Secret>,
    pacer: Pacer,
}

/// How a call is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A read: GET with query parameters.
    Read,
    /// A signed read (the auth calls): GET with `api_sig`.
    SignedRead,
    /// A write: signed POST with form parameters.
    Write,
}

impl Client {
    /// A client for the settings' service and budget.
    pub fn new(settings: &Settings) -> Result<Client, Error> {
        let http = reqwest::blocking::Client::builder()
            .user_agent(concat!("musique/", env!("CARGO_PKG_VERSION"), " (+https://github.com/musique)"))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|err| Error::new(ErrorKind::Internal, format!("cannot build the HTTP client: {err}")))?;
        Ok(Client {
            http,
            api_url: settings.api_url.clone(),
            api_key: settings.api_key.clone(),
            shared_secret: settings.shared_secret.clone(),
            pacer: Pacer {
                interval: Duration::from_secs_f64(1.0 / settings.requests_per_second),
                next: Instant::now(),
            },
        })
    }

    /// Whether signed calls are possible.
    pub fn can_sign(&self) -> bool {
        self.shared_secret.is_some()
    }

    /// Calls `method` with `params`; the answer's JSON body, or what went wrong.
    pub fn call(&mut self, method: &str, params: &[(&str, &str)], mode: Mode) -> Result<Value, Error> {
        let api_key = self.api_key.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthorized,
                "no Last.fm API key: set api_key (or api_key_file, api_key_env) in [adapters.lastfm]",
            )
        })?;
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(params.len() + 4);
        all.push(("method", method));
        all.push(("api_key", api_key.expose()));
        all.extend_from_slice(params);
        let signature;
        if mode != Mode::Read {
            let secret = self.shared_secret.as_ref().ok_or_else(|| {
                Error::new(
                    ErrorKind::Unauthorized,
                    "no Last.fm shared secret: set shared_secret (or shared_secret_file, shared_secret_env) in [adapters.lastfm]",
                )
            })?;
            signature = api_sig(&all, secret.expose());
            all.push(("api_sig", &signature));
        }
        all.push(("format", "json"));
        self.pacer.wait();
        let request = match mode {
            Mode::Read | Mode::SignedRead => self.http.get(&self.api_url).query(&all),
            Mode::Write => self.http.post(&self.api_url).form(&all),
        };
        let response = request.send().map_err(|err| transport(method, err))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_BODY_BYTES + 1), &mut body)
            .map_err(|_| Error::new(ErrorKind::Unavailable, format!("Last.fm {method}: the connection failed")))?;
        if body.len() as u64 > MAX_BODY_BYTES {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("Last.fm {method}: an answer larger than {} MB", MAX_BODY_BYTES / 1024 / 1024),
            ));
        }
        judge(method, status, &body)
    }
}

/// A failure before an answer: timeouts and connection errors are worth retrying.
fn transport(method: &str, err: reqwest::Error) -> Error {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "failed"
    };
    // `without_url`: the URL holds the API key.
    Error::new(ErrorKind::Unavailable, format!("Last.fm {method}: {what}: {}", err.without_url()))
}

/// Reads an answer: its JSON body, or the error it carries.
pub fn judge(method: &str, status: u16, body: &[u8]) -> Result<Value, Error> {
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let value = match parsed {
        Ok(value) => value,
        Err(err) => {
            let kind = if status == 429 {
                ErrorKind::RateLimited
            } else if status >= 500 || status == 200 {
                // A cut or garbled body (seen under load) is worth another try.
                ErrorKind::Unavailable
            } else {
                ErrorKind::Internal
            };
            return Err(Error::new(
                kind,
                format!("Last.fm {method}: HTTP {status} with a body that is not JSON ({} bytes: {err})", body.len()),
            ));
        }
    };
    if let Some(code) = value.get("error").and_then(Value::as_i64) {
        let message = value.get("message").and_then(Value::as_str).unwrap_or("no message");
        return Err(api_error(method, code, message));
    }
    if !(200..300).contains(&status) {
        let kind = match status {
            429 => ErrorKind::RateLimited,
            500.. => ErrorKind::Unavailable,
            401 | 403 => ErrorKind::Unauthorized,
            _ => ErrorKind::Internal,
        };
        return Err(Error::new(kind, format!("Last.fm {method}: HTTP {status}")));
    }
    if !value.is_object() {
        return Err(Error::new(ErrorKind::Unavailable, format!("Last.fm {method}: the answer is not a JSON object")));
    }
    Ok(value)
}

/// What a Last.fm error code means for the host.
fn api_error(method: &str, number: i64, message: &str) -> Error {
    use ErrorCode as Code;
    let (kind, advice) = match ErrorCode::from_code(number) {
        Some(Code::RateLimitExceeded) => (ErrorKind::RateLimited, "Last.fm asks to slow down"),
        Some(Code::OperationFailed | Code::ServiceOffline | Code::TemporaryError) => {
            (ErrorKind::Unavailable, "Last.fm is failing for now; try again later")
        }
        Some(Code::InvalidApiKey | Code::SuspendedApiKey) => {
            (ErrorKind::Unauthorized, "the API key is invalid or suspended; check api_key in [adapters.lastfm]")
        }
        Some(Code::AuthenticationFailed | Code::InvalidSessionKey) => {
            (ErrorKind::Unauthorized, "the Last.fm session is invalid or revoked; run `musiquectl lastfm login`")
        }
        Some(Code::InvalidSignature) => {
            (ErrorKind::Unauthorized, "the signature was refused; check shared_secret in [adapters.lastfm]")
        }
        Some(Code::UnauthorizedToken) => (ErrorKind::Unauthorized, "the token has not been authorized yet"),
        Some(Code::TokenExpired) => (ErrorKind::Unauthorized, "the token expired; run `musiquectl lastfm login` again"),
        Some(Code::LoginRequired) => (ErrorKind::InvalidInput, "this user's listening history is private on Last.fm"),
        Some(Code::InvalidParameters) => (ErrorKind::InvalidInput, "Last.fm does not know it"),
        _ => (ErrorKind::Internal, "Last.fm refused the call"),
    };
    Error::new(kind, format!("Last.fm {method}: {advice} (error {number}: {message})"))
}

/// The Last.fm error code in an error built here, if any.
pub fn error_code(error: &Error) -> Option<ErrorCode> {
    let start = error.message.rfind("(error ")? + "(error ".len();
    ErrorCode::from_code(error.message[start..].split(':').next()?.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two worked examples of the Last.fm signature documentation.
    #[test]
    fn signature_vectors() {
        let sig = api_sig(
            &[("api_key", "YOUR_API_KEY"), ("method", "auth.getSession"), ("token", "YOUR_REQUESTED_TOKEN")],
            "YOUR_SECRET",
        );
        assert_eq!(sig, "94539006DE89B3C6B3C030BB1E52B9C4".to_lowercase());
        let sig = api_sig(
            &[
                ("method", "track.love"),
                ("api_key", "YOUR_API_KEY"),
                ("artist", "KITANO REM"),
                ("track", "RAINSICK"),
                ("sk", "YOUR_SESSION_KEY"),
                ("format", "json"),
            ],
            "YOUR_SECRET",
        );
        assert_eq!(sig, "800B8884B00C9343D1D425ED271E0F42".to_lowercase());
    }

    #[test]
    fn indexed_names_sort_as_bytes() {
        // `artist[10]` sorts before `artist[1]`: `0` is below `]`.
        let a = api_sig(&[("artist[1]", "x"), ("artist[10]", "y")], "s");
        let b = api_sig(&[("artist[10]", "y"), ("artist[1]", "x")], "s");
        assert_eq!(a, b);
        let mut hasher = Md5::new();
        hasher.update(b"artist[10]yartist[1]xs");
        let expected: String = hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(a, expected);
    }

    #[test]
    fn answers_are_judged_by_their_body() {
        let ok = judge("m", 200, br#"{"recenttracks":{}}"#).unwrap();
        assert!(ok.get("recenttracks").is_some());
        let cases: [(u16, &[u8], ErrorKind, &str); 9] = [
            (429, br#"{"error":29,"message":"Rate Limit Exceeded"}"#, ErrorKind::RateLimited, "error 29"),
            (200, br#"{"error":6,"message":"Album not found","links":[]}"#, ErrorKind::InvalidInput, "error 6"),
            (
                403,
                br#"{"error":17,"message":"Login: User required to be logged in"}"#,
                ErrorKind::InvalidInput,
                "private",
            ),
            (403, br#"{"error":10,"message":"Invalid API key"}"#, ErrorKind::Unauthorized, "api_key"),
            (500, br#"{"error":8,"message":"Operation failed"}"#, ErrorKind::Unavailable, "error 8"),
            (503, b"<html>Service Unavailable</html>", ErrorKind::Unavailable, "not JSON"),
            (200, br#"{"recenttracks":{"track":[{"na"#, ErrorKind::Unavailable, "not JSON"),
            (502, b"{}", ErrorKind::Unavailable, "HTTP 502"),
            (200, b"[]", ErrorKind::Unavailable, "not a JSON object"),
        ];
        for (status, body, kind, text) in cases {
            let err = judge("user.getRecentTracks", status, body).unwrap_err();
            assert_eq!(err.kind, kind, "{status} {}", String::from_utf8_lossy(body));
            assert!(err.message.contains(text), "{}", err.message);
        }
        let err = judge("m", 403, br#"{"error":9,"message":"Invalid session key"}"#).unwrap_err();
        assert_eq!(error_code(&err), Some(ErrorCode::InvalidSessionKey));
    }
}
