//! Who may reach the listener and read its answers: the `Host` rule against DNS
//! rebinding, and CORS for the web origins the config lists (`[http] hostnames`,
//! `cors_origins`). Whether a read needs a token is each API's business
//! (`[http] public_reads`), with the same credentials as submissions.
//!
//! A web page can make a browser send requests to `127.0.0.1:42010`, but it can
//! read an answer only when the answer allows the page's origin (CORS), or when
//! the page's own origin is the listener: a name whose DNS the page's author
//! controls and points at 127.0.0.1 (DNS rebinding). So answers allow no origin
//! unless listed, and a request naming a host that is not the listener's is refused.

use std::net::IpAddr;

use hyper::StatusCode;
use hyper::header::{self, HeaderValue};

use super::Answer;

/// The response headers a listed origin's scripts may read, beside the simple ones.
const EXPOSED_HEADERS: &str = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset-In, X-RateLimit-Reset";

/// Whether a request's host (its `Host` header, or the authority of an absolute URI)
/// names this listener: `localhost`, a loopback address, the address the client
/// connected to (`local`), or one of the configured `hostnames`; any port.
pub(super) fn host_allowed(host: Option<&str>, local: IpAddr, hostnames: &[String]) -> bool {
    let Some(name) = host.and_then(host_name) else {
        return false;
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.eq_ignore_ascii_case("localhost") || hostnames.iter().any(|known| same_name(known, name)) {
        return true;
    }
    match name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => ip.to_canonical().is_loopback() || ip.to_canonical() == local.to_canonical(),
        Err(_) => false,
    }
}

/// The answer to a request for another host.
pub(super) fn wrong_host(host: Option<&str>) -> Answer {
    let message = match host {
        Some(host) => format!(
            "musique does not answer for the host {host:?}: use 127.0.0.1 or localhost, or add the name to \
             `hostnames` in the [http] config"
        ),
        None => "a request must name its host (the Host header)".to_owned(),
    };
    super::json(StatusCode::FORBIDDEN, &serde_json::json!({"code": 403, "error": message}))
}

/// Lets the page of a listed origin read an answer: `Access-Control-Allow-Origin`
/// with that origin, and `Vary: Origin` whenever origins are listed (the answer
/// then depends on it). Other origins get nothing, so browsers keep the answer from them.
pub(super) fn allow_origin(answer: &mut Answer, origin: Option<&HeaderValue>, allowed: &[String]) {
    if allowed.is_empty() {
        return;
    }
    let headers = answer.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.filter(|origin| listed(origin, allowed)) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
    }
}

/// The answer to `OPTIONS`: a CORS preflight from a listed origin is allowed the
/// methods and headers the APIs use; one from another origin is refused; without
/// `Origin` it is not a preflight, and says which methods there are.
pub(super) fn preflight(origin: Option<&HeaderValue>, allowed: &[String]) -> Answer {
    match origin {
        Some(origin) if listed(origin, allowed) => {
            let mut answer = super::with_type(StatusCode::NO_CONTENT, Vec::new(), "text/plain");
            let headers = answer.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
            headers
                .insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Authorization, Content-Type"));
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
            answer
        }
        Some(origin) => {
            let origin = String::from_utf8_lossy(origin.as_bytes());
            let message = format!(
                "pages of {origin} may not call musique: list the origin in `cors_origins` in the [http] config"
            );
            super::json(StatusCode::FORBIDDEN, &serde_json::json!({"code": 403, "error": message}))
        }
        None => {
            let mut answer = super::with_type(StatusCode::NO_CONTENT, Vec::new(), "text/plain");
            answer.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST, OPTIONS"));
            answer
        }
    }
}

/// The name part of a host (`name`, `name:port`, `[v6]`, `[v6]:port`).
fn host_name(host: &str) -> Option<&str> {
    let host = host.trim();
    if host.starts_with('[') {
        let end = host.find(']')?;
        let port = &host[end + 1..];
        return (port.is_empty() || port.strip_prefix(':').is_some_and(is_port)).then_some(&host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if is_port(port) && !name.contains(':') => Some(name),
        Some(_) => None,
        None => Some(host).filter(|host| !host.is_empty()),
    }
}

/// A port number.
fn is_port(text: &str) -> bool {
    text.parse::<u16>().is_ok()
}

/// Host names compare without case and without a final dot.
fn same_name(known: &str, name: &str) -> bool {
    known.strip_suffix('.').unwrap_or(known).eq_ignore_ascii_case(name)
}

/// Whether an `Origin` is one of the listed ones (scheme and host without case).
fn listed(origin: &HeaderValue, allowed: &[String]) -> bool {
    origin.to_str().is_ok_and(|origin| allowed.iter().any(|listed| listed.eq_ignore_ascii_case(origin)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_the_listener_are_served() {
        let loopback = IpAddr::from([127, 0, 0, 1]);
        let lan = IpAddr::from([192, 168, 1, 20]);
        let names = vec!["music.example.net".to_owned(), "nas.".to_owned()];
        let cases: [(Option<&str>, IpAddr, bool); 22] = [
            (Some("127.0.0.1:42010"), loopback, true),
            (Some("127.0.0.1"), loopback, true),
            (Some("127.8.9.10:80"), loopback, true),
            (Some("localhost:42010"), loopback, true),
            (Some("LocalHost."), loopback, true),
            (Some("[::1]:42010"), loopback, true),
            (Some("[::1]"), loopback, true),
            (Some("[::ffff:127.0.0.1]:42010"), loopback, true),
            (Some("music.example.net:42010"), loopback, true),
            (Some("MUSIC.example.net."), lan, true),
            (Some("nas"), lan, true),
            // The address the client connected to, when the listener is not on loopback.
            (Some("192.168.1.20:42010"), lan, true),
            (Some("192.168.1.20"), lan, true),
            (Some("192.168.1.21:42010"), lan, false),
            (Some("192.168.1.20:42010"), loopback, false),
            // DNS rebinding: a name the page's author controls.
            (Some("evil.example:42010"), loopback, false),
            (Some("localhost.evil.example"), loopback, false),
            (Some("music.example.net.evil.example"), loopback, false),
            (Some("127.0.0.1.nip.io:42010"), loopback, false),
            (Some("localhost:notaport"), loopback, false),
            (Some(""), loopback, false),
            (None, loopback, false),
        ];
        for (host, local, expected) in cases {
            assert_eq!(host_allowed(host, local, &names), expected, "{host:?} on {local}");
        }
        assert!(!host_allowed(Some("nas:1"), lan, &[]), "no name is configured");
    }

    #[test]
    fn only_listed_origins_are_allowed() {
        let allowed = vec!["https://app.example".to_owned(), "http://localhost:5173".to_owned()];
        let origin = |value: &'static str| HeaderValue::from_static(value);
        let mut answer = super::super::json(StatusCode::OK, &serde_json::json!({}));
        allow_origin(&mut answer, Some(&origin("https://app.example")), &allowed);
        assert_eq!(answer.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
        assert_eq!(answer.headers()[header::VARY], "Origin");
        for other in ["https://evil.example", "null", "https://app.example.evil.example", "http://app.example"] {
            let mut answer = super::super::json(StatusCode::OK, &serde_json::json!({}));
            allow_origin(&mut answer, Some(&origin(other)), &allowed);
            assert!(!answer.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN), "{other}");
            assert_eq!(answer.headers()[header::VARY], "Origin");
            assert_eq!(preflight(Some(&origin(other)), &allowed).status(), StatusCode::FORBIDDEN);
        }
        let mut answer = super::super::json(StatusCode::OK, &serde_json::json!({}));
        allow_origin(&mut answer, Some(&origin("https://app.example")), &[]);
        assert!(!answer.headers().contains_key(header::VARY), "CORS off: the answer does not depend on the origin");
        assert!(!answer.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        let allowed_preflight = preflight(Some(&origin("http://localhost:5173")), &allowed);
        assert_eq!(allowed_preflight.status(), StatusCode::NO_CONTENT);
        assert!(
            allowed_preflight.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
                .to_str()
                .unwrap()
                .contains("Authorization")
        );
        assert_eq!(preflight(Some(&origin("https://app.example")), &[]).status(), StatusCode::FORBIDDEN);
        assert_eq!(preflight(None, &allowed).status(), StatusCode::NO_CONTENT);
    }
}
