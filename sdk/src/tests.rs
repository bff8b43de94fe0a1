//! Tests of both sides of the ABI, in-process.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::abi::{self, PluginV1};
use crate::host::{CallError, LoadError, Table};
use crate::protocol::{
    ErrorKind, ErrorReply, Event, Hello, HelloReply, HistoryPage, HistoryRequest, Listen, NowPlaying, ProtocolVersion,
};
use crate::testkit::RecordingHost;
use crate::{Capability, Error, Host, Level, Plugin};

/// A plugin exercising every host service, and misbehaving on demand.
struct Probe {
    host: Host,
}

impl Plugin for Probe {
    const NAME: &'static str = "probe";
    const VERSION: &'static str = "1.2.3";
    const CAPABILITIES: &'static [Capability] = &[Capability::History, Capability::Live];

    fn create(host: Host, config: Value) -> Result<Self, Error> {
        match config["mode"].as_str() {
            Some("panic") => panic!("create exploded"),
            Some("refuse") => Err(Error::new(ErrorKind::Unauthorized, "no api key")),
            _ => Ok(Probe { host }),
        }
    }

    fn call(&mut self, method: &str, payload: Value) -> Result<Value, Error> {
        match method {
            "echo" => Ok(payload),
            "panic" => panic!("call exploded: {payload}"),
            "slow_down" => Err(Error::rate_limited(1500, "error 29")),
            "remember" => {
                let key = payload["key"].as_str().unwrap_or_default();
                self.host.kv_put(key, payload["value"].as_str().unwrap_or_default().as_bytes())?;
                let stored = self.host.kv_get(key).map(|value| String::from_utf8_lossy(&value).into_owned());
                Ok(json!({ "stored": stored, "now": self.host.now_ms() }))
            }
            "report" => {
                self.host.log(Level::Warn, "reporting");
                let listen = Listen {
                    artist: "Air".into(),
                    track: "Alone in Kyoto".into(),
                    album: None,
                    listened_at: 1_700_000_000,
                    duration_ms: Some(291_000),
                    loved: None,
                };
                self.host.emit(&Event::Listens { listens: vec![listen] })?;
                self.host.emit(&Event::Progress { job: "sync".into(), done: 1, total: Some(1) })?;
                Ok(Value::Null)
            }
            other => Err(Error::unknown_method(other)),
        }
    }
}

#[test]
fn hello_negotiates_and_describes_the_plugin() {
    let host = RecordingHost::new();
    let mut probe = host.start::<Probe>(json!({})).unwrap();
    assert_eq!(probe.table().name(), "probe");
    assert_eq!(probe.table().version(), "1.2.3");
    assert_eq!(probe.table().abi(), (abi::ABI_MAJOR, abi::ABI_MINOR));
    let reply = probe.hello().unwrap();
    assert_eq!(reply.capabilities, vec![Capability::History, Capability::Live]);
    assert_eq!(reply.protocol, ProtocolVersion::CURRENT);
    // A host of another protocol major is refused, with the reason.
    let err = probe.call("hello", &json!({"protocol": {"major": 9, "minor": 0}})).unwrap_err();
    assert!(
        matches!(&err, CallError::Plugin(error) if error.kind == ErrorKind::Protocol && error.message.contains("9.0")),
        "{err:?}"
    );
}

#[test]
fn calls_errors_and_panics() {
    let host = RecordingHost::new();
    let mut probe = host.start::<Probe>(json!({})).unwrap();
    assert_eq!(probe.call("echo", &json!({"a": [1, "ü"]})).unwrap(), json!({"a": [1, "ü"]}));
    let err = probe.call("nope", &Value::Null).unwrap_err();
    assert!(matches!(&err, CallError::Plugin(error) if error.kind == ErrorKind::UnknownMethod), "{err:?}");
    let err = probe.call("slow_down", &Value::Null).unwrap_err();
    assert!(matches!(&err, CallError::Plugin(error) if error.retry_after_ms == Some(1500)), "{err:?}");
    let err = probe.call("panic", &json!("boom")).unwrap_err();
    assert!(matches!(&err, CallError::Panicked(message) if message.contains("call exploded")), "{err:?}");
    // The instance still answers after a caught panic.
    assert_eq!(probe.call("echo", &json!(1)).unwrap(), json!(1));

    let err = host.start::<Probe>(json!({"mode": "panic"})).unwrap_err();
    assert!(matches!(&err, CallError::Panicked(message) if message.contains("create exploded")), "{err:?}");
    let err = host.start::<Probe>(json!({"mode": "refuse"})).unwrap_err();
    assert_eq!(err, CallError::Plugin(Error::new(ErrorKind::Unauthorized, "no api key")));
}

#[test]
fn host_services_reach_the_host() {
    let host = RecordingHost::new();
    host.set_now_ms(42_000);
    let mut probe = host.start::<Probe>(json!({})).unwrap();
    let answer = probe.call("remember", &json!({"key": "cursor", "value": "page 7"})).unwrap();
    assert_eq!(answer, json!({"stored": "page 7", "now": 42_000}));
    assert_eq!(host.state().get("cursor").map(Vec::as_slice), Some(b"page 7".as_slice()));
    probe.call("remember", &json!({"key": "cursor", "value": ""})).unwrap();
    assert!(host.state().is_empty(), "an empty value deletes the key");

    probe.call("report", &Value::Null).unwrap();
    assert_eq!(host.logs(), vec![(Level::Warn, "reporting".to_owned())]);
    let events = host.events();
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[0], Event::Listens { listens } if listens[0].track == "Alone in Kyoto"));
}

#[test]
fn tables_are_checked_before_use() {
    // SAFETY: null is allowed.
    assert_eq!(unsafe { Table::check(std::ptr::null()) }.unwrap_err(), LoadError::Null);
    let good: &'static PluginV1 = crate::__private::table::<Probe>();
    let mut other_major = PluginV1 { abi_major: 2, ..copy(good) };
    // SAFETY: a valid table on the stack, used only during the check.
    let err = unsafe { Table::check(&other_major) }.unwrap_err();
    assert_eq!(err, LoadError::AbiMajor { found: 2 });
    assert!(err.to_string().contains("ABI major 2"));
    other_major.abi_major = abi::ABI_MAJOR;
    other_major.struct_size = 8;
    // SAFETY: as above.
    assert_eq!(unsafe { Table::check(&other_major) }.unwrap_err(), LoadError::TooSmall { size: 8 });
}

fn copy(table: &PluginV1) -> PluginV1 {
    PluginV1 { free_buf: table.free_buf, ..*table }
}

/// The wire format, byte for byte: a change here breaks plugins built against an older SDK.
#[test]
fn wire_snapshots() {
    fn check(value: impl serde::Serialize, expected: &str) {
        assert_eq!(serde_json::to_string(&value).unwrap(), expected);
    }
    check(
        Hello { protocol: ProtocolVersion::CURRENT, features: vec![] },
        r#"{"protocol":{"major":1,"minor":3},"features":[]}"#,
    );
    check(
        HelloReply {
            protocol: ProtocolVersion::CURRENT,
            name: "lastfm".into(),
            version: "0.1.0".into(),
            capabilities: vec![Capability::History, Capability::Enrich],
            features: vec![],
        },
        r#"{"protocol":{"major":1,"minor":3},"name":"lastfm","version":"0.1.0","capabilities":["history","enrich"],"features":[]}"#,
    );
    check(
        Event::Listens {
            listens: vec![Listen {
                artist: "A".into(),
                track: "T".into(),
                album: Some("B".into()),
                listened_at: 1,
                duration_ms: None,
                loved: None,
            }],
        },
        r#"{"type":"listens","listens":[{"artist":"A","track":"T","album":"B","listened_at":1}]}"#,
    );
    check(
        HistoryPage {
            listens: vec![Listen {
                artist: "A".into(),
                track: "T".into(),
                album: None,
                listened_at: 2,
                duration_ms: None,
                loved: Some(true),
            }],
            now_playing: Some(NowPlaying { artist: "A".into(), track: "U".into(), album: None }),
            next: Some(serde_json::json!({"to": 2})),
            pages_done: 1,
            pages_total: Some(3),
        },
        r#"{"listens":[{"artist":"A","track":"T","listened_at":2,"loved":true}],"now_playing":{"artist":"A","track":"U"},"next":{"to":2},"pages_done":1,"pages_total":3}"#,
    );
    check(HistoryRequest { from: Some(1), to: None, cursor: None }, r#"{"from":1}"#);
    check(
        Event::NowPlaying { artist: "A".into(), track: "T".into(), album: None },
        r#"{"type":"now_playing","artist":"A","track":"T"}"#,
    );
    check(Event::Progress { job: "j".into(), done: 2, total: None }, r#"{"type":"progress","job":"j","done":2}"#);
    check(
        Event::Playback(crate::player::Playback {
            zone_id: "z".into(),
            zone: "Kitchen".into(),
            state: crate::player::PlayState::Playing,
            track: Some(crate::player::PlayingTrack {
                artist: "A".into(),
                title: "T".into(),
                album: None,
                length_ms: Some(1000),
                image_key: None,
                radio: None,
            }),
            position_ms: Some(5),
            at_ms: 7,
        }),
        r#"{"type":"playback","zone_id":"z","zone":"Kitchen","state":"playing","track":{"artist":"A","title":"T","length_ms":1000},"position_ms":5,"at_ms":7}"#,
    );
    check(
        crate::player::Control {
            zone: "K".into(),
            action: crate::player::Action::Seek { seconds: 3.0, relative: true },
        },
        r#"{"zone":"K","action":"seek","seconds":3.0,"relative":true}"#,
    );
    check(
        crate::player::PlayRequest {
            zone: "K".into(),
            what: crate::player::PlayWhat::Album { artist: "A".into(), title: "B".into() },
            choice: None,
        },
        r#"{"zone":"K","kind":"album","artist":"A","title":"B"}"#,
    );
    check(
        ErrorReply { kind: ErrorKind::RateLimited, message: "m".into(), retry_after_ms: Some(5) },
        r#"{"kind":"rate_limited","message":"m","retry_after_ms":5}"#,
    );
    // Newer peers: unknown fields are ignored, unknown variants are `Unknown`.
    let event: Event = serde_json::from_str(r#"{"type":"teleported","to":"mars"}"#).unwrap();
    assert_eq!(event, Event::Unknown);
    let hello: Hello =
        serde_json::from_str(r#"{"protocol":{"major":1,"minor":7},"features":["x"],"extra":true}"#).unwrap();
    assert_eq!(hello.protocol.minor, 7);
    let capabilities: Vec<Capability> = serde_json::from_str(r#"["live","telepathy"]"#).unwrap();
    assert_eq!(capabilities, vec![Capability::Live, Capability::Unknown]);
    let kind: ErrorKind = serde_json::from_str(r#""cosmic_rays""#).unwrap();
    assert_eq!(kind, ErrorKind::Unknown);
}

#[test]
fn many_instances_share_one_table() {
    let host = RecordingHost::new();
    let first = host.start::<Probe>(json!({})).unwrap();
    let second = host.start::<Probe>(json!({})).unwrap();
    assert!(std::ptr::eq(crate::__private::table::<Probe>(), crate::__private::table::<Probe>()));
    drop((first, second));
    let _unused: Arc<RecordingHost> = host;
}

/// A table written by hand, as a buggy or hostile plugin might: answers that break the protocol.
mod garbage {
    use std::ffi::c_void;

    use super::*;
    use crate::abi::{Buf, HostV1, Status};

    unsafe extern "C" fn create(
        _: *const HostV1,
        _: *const u8,
        _: usize,
        instance: *mut *mut c_void,
        _: *mut Buf,
    ) -> Status {
        // SAFETY: the host passes a writable pointer.
        unsafe { instance.write(std::ptr::NonNull::<u8>::dangling().as_ptr().cast()) };
        abi::STATUS_OK
    }

    unsafe extern "C" fn call(
        _: *mut c_void,
        method: *const u8,
        len: usize,
        _: *const u8,
        _: usize,
        out: *mut Buf,
    ) -> Status {
        // SAFETY: the host passes the method name's bytes.
        let method = unsafe { std::slice::from_raw_parts(method, len) };
        let (status, reply): (Status, &[u8]) = match method {
            b"text" => (abi::STATUS_OK, b"\xff\xfenot json at all"),
            b"bad_error" => (abi::STATUS_ERROR, b"{\"nope\":1}"),
            _ => (42, b""),
        };
        // SAFETY: the host passes a writable `Buf`, and gives it back to `free_buf`.
        unsafe { out.write(Buf::from_vec(reply.to_vec())) };
        status
    }

    unsafe extern "C" fn free_buf(buf: Buf) {
        // SAFETY: allocated by `call` above.
        drop(unsafe { buf.into_vec() });
    }

    unsafe extern "C" fn destroy(_: *mut c_void) {}

    static TABLE: PluginV1 = PluginV1 {
        abi_major: abi::ABI_MAJOR,
        abi_minor: abi::ABI_MINOR,
        struct_size: std::mem::size_of::<PluginV1>(),
        name: c"garbage".as_ptr(),
        version: c"0.0.1".as_ptr(),
        create,
        call,
        free_buf,
        destroy,
    };

    #[test]
    fn answers_that_break_the_protocol_are_errors_not_crashes() {
        // SAFETY: a static table.
        let table = unsafe { Table::check(&TABLE) }.unwrap();
        let mut instance = table.create(RecordingHost::new(), &json!({})).unwrap();
        let err = instance.call("text", &Value::Null).unwrap_err();
        assert!(matches!(&err, CallError::Garbage(message) if message.contains("invalid JSON")), "{err:?}");
        let err = instance.call("bad_error", &Value::Null).unwrap_err();
        assert!(matches!(&err, CallError::Garbage(message) if message.contains("unreadable error reply")), "{err:?}");
        let err = instance.call("other", &Value::Null).unwrap_err();
        assert_eq!(err, CallError::Garbage("unknown status 42".to_owned()));
        let err = instance.hello().unwrap_err();
        assert!(matches!(err, CallError::Garbage(_)));
    }
}
