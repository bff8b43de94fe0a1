//! The MOO/1 codec: the HTTP-like framing of every message between an
//! extension and a Roon Core, one message per binary WebSocket frame.
//!
//! A message is a first line `MOO/1 <VERB> <NAME>`, a `Request-Id` header,
//! and, only when there is a body, `Content-Length` (in bytes) and
//! `Content-Type`; then an empty line and the body. Lines end in `\n` only.
//! The parser takes headers in any order and ignores unknown ones; the
//! writer puts them in the order every known client uses.

use serde_json::Value;

/// The content type of JSON bodies.
pub const JSON: &str = "application/json";

/// The verb of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// A request; the name is `<service>/<method>`.
    Request,
    /// A response with more to follow (subscriptions, registration).
    Continue,
    /// The last response to a request.
    Complete,
}

impl Verb {
    /// The verb as it is written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Request => "REQUEST",
            Verb::Continue => "CONTINUE",
            Verb::Complete => "COMPLETE",
        }
    }
}

/// A message body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A JSON body (`application/json`).
    Json(Value),
    /// Any other body, with its content type (images).
    Binary {
        /// The content type, e.g. `image/png`.
        content_type: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// One MOO/1 message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// REQUEST, CONTINUE or COMPLETE.
    pub verb: Verb,
    /// `<service>/<method>` for a request, a status word (`Success`, `Changed`, …) for a response.
    pub name: String,
    /// The request this message is, or answers.
    pub request_id: u64,
    /// The body, if any.
    pub body: Option<Body>,
}

/// Why bytes are not a MOO/1 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "not a MOO/1 message: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

impl Message {
    /// A request with an optional JSON body.
    pub fn request(request_id: u64, name: &str, body: Option<Value>) -> Message {
        Message { verb: Verb::Request, name: name.to_owned(), request_id, body: body.map(Body::Json) }
    }

    /// A response (CONTINUE or COMPLETE) with an optional JSON body.
    pub fn response(verb: Verb, request_id: u64, name: &str, body: Option<Value>) -> Message {
        Message { verb, name: name.to_owned(), request_id, body: body.map(Body::Json) }
    }

    /// The JSON body, if the body is JSON.
    pub fn json(&self) -> Option<&Value> {
        match &self.body {
            Some(Body::Json(value)) => Some(value),
            _ => None,
        }
    }

    /// For a request: the service and the method (split at the first `/`).
    pub fn service_method(&self) -> Option<(&str, &str)> {
        self.name.split_once('/')
    }

    /// The bytes of the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("MOO/1 {} {}\nRequest-Id: {}\n", self.verb.as_str(), self.name, self.request_id);
        let body: Option<(&str, Vec<u8>)> = match &self.body {
            None => None,
            Some(Body::Json(value)) => Some((JSON, serde_json::to_vec(value).expect("a JSON value serializes"))),
            Some(Body::Binary { content_type, bytes }) => Some((content_type.as_str(), bytes.clone())),
        };
        match body {
            None => {
                out.push('\n');
                out.into_bytes()
            }
            Some((content_type, bytes)) => {
                out.push_str(&format!("Content-Length: {}\nContent-Type: {content_type}\n\n", bytes.len()));
                let mut out = out.into_bytes();
                out.extend_from_slice(&bytes);
                out
            }
        }
    }

    /// Parses one message. An empty frame is `Ok(None)` (the real Core sends some).
    pub fn decode(bytes: &[u8]) -> Result<Option<Message>, DecodeError> {
        if bytes.iter().all(|byte| byte.is_ascii_whitespace()) {
            return Ok(None);
        }
        let split = bytes
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .ok_or_else(|| DecodeError("no empty line after the headers".to_owned()))?;
        let head =
            std::str::from_utf8(&bytes[..split]).map_err(|_| DecodeError("the headers are not UTF-8".to_owned()))?;
        let rest = &bytes[split + 2..];
        let mut lines = head.split('\n');
        let first = lines.next().unwrap_or_default();
        let mut words = first.splitn(3, ' ');
        if words.next() != Some("MOO/1") {
            return Err(DecodeError(format!("the first line is not `MOO/1 …`: {:?}", preview(first))));
        }
        let verb = match words.next() {
            Some("REQUEST") => Verb::Request,
            Some("CONTINUE") => Verb::Continue,
            Some("COMPLETE") => Verb::Complete,
            other => return Err(DecodeError(format!("unknown verb {:?}", other.unwrap_or_default()))),
        };
        let name = words.next().map(str::trim).filter(|name| !name.is_empty());
        let name = name.ok_or_else(|| DecodeError("the first line has no name".to_owned()))?.to_owned();
        let mut request_id = None;
        let mut content_length = None;
        let mut content_type = None;
        for line in lines {
            let (key, value) =
                line.split_once(':').ok_or_else(|| DecodeError(format!("bad header line {:?}", preview(line))))?;
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "request-id" => {
                    let id = value.parse().map_err(|_| DecodeError(format!("bad Request-Id {value:?}")))?;
                    request_id = Some(id);
                }
                "content-length" => {
                    let length: usize =
                        value.parse().map_err(|_| DecodeError(format!("bad Content-Length {value:?}")))?;
                    content_length = Some(length);
                }
                "content-type" => content_type = Some(value.to_owned()),
                _ => {}
            }
        }
        let request_id = request_id.ok_or_else(|| DecodeError("no Request-Id".to_owned()))?;
        let body = match (content_length, content_type) {
            (None, None) if rest.is_empty() => None,
            (None, None) => return Err(DecodeError("data after the headers without a Content-Length".to_owned())),
            (Some(_), None) | (None, Some(_)) => {
                return Err(DecodeError("Content-Length and Content-Type must come together".to_owned()));
            }
            (Some(length), Some(content_type)) => {
                if rest.len() != length {
                    return Err(DecodeError(format!(
                        "Content-Length says {length} bytes, the body has {}",
                        rest.len()
                    )));
                }
                if content_type == JSON {
                    let value = serde_json::from_slice(rest)
                        .map_err(|err| DecodeError(format!("the JSON body does not parse: {err}")))?;
                    Some(Body::Json(value))
                } else {
                    Some(Body::Binary { content_type, bytes: rest.to_vec() })
                }
            }
        };
        Ok(Some(Message { verb, name, request_id, body }))
    }
}

fn preview(text: &str) -> String {
    text.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const INFO: &[u8] = b"MOO/1 REQUEST com.roonlabs.registry:1/info\nRequest-Id: 0\n\n";
    const INFO_REPLY: &[u8] = b"MOO/1 COMPLETE Success\nRequest-Id: 0\nContent-Length: 122\nContent-Type: application/json\n\n{\"core_id\":\"08d2ee54-0b84-4b2b-b574-1285600003b1\",\"display_name\":\"Roon Server\",\"display_version\":\"1.7 (build 571) stable\"}";
    const SUBSCRIBE: &[u8] = b"MOO/1 REQUEST com.roonlabs.transport:2/subscribe_zones\nRequest-Id: 2\nContent-Length: 22\nContent-Type: application/json\n\n{\"subscription_key\":0}";
    const SUCCESS: &[u8] = b"MOO/1 COMPLETE Success\nRequest-Id: 3\n\n";
    const PING: &[u8] = b"MOO/1 REQUEST com.roonlabs.ping:1/ping\nRequest-Id: 1001\n\n";
    const REMOVED: &[u8] = b"MOO/1 CONTINUE Changed\nRequest-Id: 2\nContent-Length: 38\nContent-Type: application/json\n\n{\"zones_removed\":[\"1601a3f1d2b0c0a1\"]}";

    fn check(bytes: &[u8], expect: Message) {
        let decoded = Message::decode(bytes).expect("decodes").expect("not empty");
        assert_eq!(decoded, expect);
        assert_eq!(expect.encode(), bytes, "encoding gives the reference's bytes");
    }

    #[test]
    fn reference_examples_round_trip_byte_for_byte() {
        check(INFO, Message::request(0, "com.roonlabs.registry:1/info", None));
        check(
            INFO_REPLY,
            Message::response(
                Verb::Complete,
                0,
                "Success",
                Some(
                    json!({"core_id":"08d2ee54-0b84-4b2b-b574-1285600003b1","display_name":"Roon Server","display_version":"1.7 (build 571) stable"}),
                ),
            ),
        );
        check(
            SUBSCRIBE,
            Message::request(2, "com.roonlabs.transport:2/subscribe_zones", Some(json!({"subscription_key":0}))),
        );
        check(SUCCESS, Message::response(Verb::Complete, 3, "Success", None));
        check(PING, Message::request(1001, "com.roonlabs.ping:1/ping", None));
        check(
            REMOVED,
            Message::response(Verb::Continue, 2, "Changed", Some(json!({"zones_removed":["1601a3f1d2b0c0a1"]}))),
        );
    }

    #[test]
    fn headers_in_any_order_and_unknown_headers_are_accepted() {
        let bytes = b"MOO/1 CONTINUE Changed\nLogging: quiet\nContent-Type: application/json\nContent-Length: 2\nRequest-Id: 7\n\n{}";
        let message = Message::decode(bytes).unwrap().unwrap();
        assert_eq!(message, Message::response(Verb::Continue, 7, "Changed", Some(json!({}))));
    }

    #[test]
    fn content_length_counts_bytes() {
        let message = Message::response(Verb::Complete, 1, "Success", Some(json!({"title": "Björk"})));
        let bytes = message.encode();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("Content-Length: 18\n"), "{text}");
        assert_eq!(Message::decode(&bytes).unwrap().unwrap(), message);
    }

    #[test]
    fn binary_bodies_keep_their_content_type() {
        let message = Message {
            verb: Verb::Complete,
            name: "Success".into(),
            request_id: 4,
            body: Some(Body::Binary {
                content_type: "image/png".into(),
                bytes: vec![0x89, b'P', b'N', b'G', 0, 10, 10],
            }),
        };
        assert_eq!(Message::decode(&message.encode()).unwrap().unwrap(), message);
    }

    #[test]
    fn empty_frames_are_ignored() {
        assert_eq!(Message::decode(b"").unwrap(), None);
        assert_eq!(Message::decode(b"\n").unwrap(), None);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let cases: &[(&[u8], &str)] = &[
            (b"hello world", "no empty line"),
            (b"HTTP/1.1 200 OK\nRequest-Id: 1\n\n", "MOO/1"),
            (b"MOO/1 SHOUT Success\nRequest-Id: 1\n\n", "unknown verb"),
            (b"MOO/1 COMPLETE\nRequest-Id: 1\n\n", "no name"),
            (b"MOO/1 COMPLETE Success\n\n", "no Request-Id"),
            (b"MOO/1 COMPLETE Success\nRequest-Id: x\n\n", "bad Request-Id"),
            (b"MOO/1 COMPLETE Success\nRequest-Id: 1\n\n{}", "without a Content-Length"),
            (b"MOO/1 COMPLETE Success\nRequest-Id: 1\nContent-Length: 2\n\n{}", "must come together"),
            (
                b"MOO/1 COMPLETE Success\nRequest-Id: 1\nContent-Length: 9\nContent-Type: application/json\n\n{}",
                "says 9",
            ),
            (b"MOO/1 COMPLETE Success\nRequest-Id: 1\nContent-Length: 2\nContent-Type: application/json\n\n{[", "JSON"),
            (b"MOO/1 COMPLETE Success\nnonsense\n\n", "bad header line"),
        ];
        for (bytes, expect) in cases {
            let error = Message::decode(bytes).expect_err("garbage");
            assert!(error.to_string().contains(expect), "{:?}: {error}", String::from_utf8_lossy(bytes));
        }
    }
}
