//! The Audioscrobbler 1.2 submissions protocol, for mpdscribble and other older
//! players: a handshake (`GET /?hs=true&p=1.2&u=USER&t=UNIX&a=TOKEN`), then
//! now-playing notifications and submissions of up to 50 plays, posted as forms
//! to the URLs the handshake answered. Answers are lines of plain text: `OK`,
//! `BADAUTH`, `BADTIME`, `BADSESSION` or `FAILED reason`.
//!
//! The password is the shared secret of a Last.fm credential
//! (`musiquectl tokens create NAME --api lastfm`): the handshake's token is
//! md5(md5(secret) + t). Because the secret is 32 hexadecimal digits, clients
//! that take a 32-character password for an md5 already (mpdscribble) send
//! md5(secret + t), which is also the 1.2.1 form with `api_key` and `sk`;
//! both are accepted. The credential whose secret matched names the listens'
//! source. Sessions live in memory: after a restart, clients are told
//! `BADSESSION` and hand-shake again, as the protocol has them do.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::lastfm::{MAX_FUTURE_S, MAX_NAME_BYTES, MINIMUM_TS, constant_time_eq, md5_hex};
use super::{Answer, App, BodyError, query_pairs, read_body};
use crate::error::{Error, UserError};
use crate::library::Listen;
use crate::scrobbling::credentials::CredentialRecord;
use crate::scrobbling::{Api, NowPlaying};

/// Where the now-playing notifications and the submissions are posted.
pub(super) const NOW_PLAYING_PATH: &str = "/audioscrobbler/nowplaying";
pub(super) const SUBMISSIONS_PATH: &str = "/audioscrobbler/submissions";
/// How far a handshake's timestamp may be from the server's clock: further is
/// `BADTIME` (a token cannot be replayed later than this).
const MAX_CLOCK_SKEW_S: i64 = 60 * 60;
/// Most plays in one submission, as the protocol has it.
const MAX_SUBMISSIONS: usize = 50;
/// Largest request body (50 plays with long names fit many times over).
const MAX_BODY: usize = 1024 * 1024;

/// Whether a request is an Audioscrobbler handshake: `hs=true` at `/` or `/audioscrobbler`.
pub(super) fn is_handshake(request: &Request<Incoming>) -> bool {
    matches!(request.uri().path(), "/" | "/audioscrobbler" | "/audioscrobbler/")
        && query_pairs(request).iter().any(|(name, value)| name == "hs" && value == "true")
}

/// Serves a handshake, a now-playing notification or a submission.
pub(super) async fn handle(app: &App, request: Request<Incoming>, peer: SocketAddr) -> Answer {
    let path = request.uri().path().to_owned();
    let reply = if path == NOW_PLAYING_PATH || path == SUBMISSIONS_PATH {
        if request.method() != Method::POST {
            Reply::Failed(format!("{path} takes POST requests"))
        } else {
            match read_body(request, MAX_BODY).await {
                Ok(body) => {
                    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
                    if path == NOW_PLAYING_PATH { now_playing(app, &form) } else { submit(app, &form).await }
                }
                Err(BodyError::TooLarge(cap)) => Reply::Failed(format!("a request may carry at most {cap} bytes")),
                Err(BodyError::Broken(message)) => Reply::Failed(format!("cannot read the request: {message}")),
            }
        }
    } else {
        let budget = app.limiter.take(&format!("address:{}", peer.ip()), app.scrobbling.clock().now_s().max(0) as u64);
        if budget.exceeded {
            Reply::Failed("too many requests; try again later".to_owned())
        } else {
            handshake(app, &request)
        }
    };
    reply.answer()
}

/// What the protocol answers.
enum Reply {
    /// A handshake's session and URLs.
    Session {
        id: String,
        now_playing_url: String,
        submissions_url: String,
    },
    Ok,
    BadAuth,
    BadTime,
    BadSession,
    Failed(String),
}

impl Reply {
    fn answer(self) -> Answer {
        let text = match self {
            Reply::Session { id, now_playing_url, submissions_url } => {
                format!("OK\n{id}\n{now_playing_url}\n{submissions_url}\n")
            }
            Reply::Ok => "OK\n".to_owned(),
            Reply::BadAuth => "BADAUTH\n".to_owned(),
            Reply::BadTime => "BADTIME\n".to_owned(),
            Reply::BadSession => "BADSESSION\n".to_owned(),
            // One line: a reason never breaks the answer's shape.
            Reply::Failed(reason) => format!("FAILED {}\n", reason.replace(['\r', '\n'], " ")),
        };
        super::with_type(StatusCode::OK, text.into_bytes(), "text/plain; charset=utf-8")
    }
}

fn handshake(app: &App, request: &Request<Incoming>) -> Reply {
    let params: BTreeMap<String, String> = query_pairs(request).into_iter().collect();
    let param = |name: &str| params.get(name).map(|value| value.trim()).filter(|value| !value.is_empty());
    if !param("p").is_some_and(|version| version.starts_with("1.2")) {
        return Reply::Failed("musique speaks protocol 1.2 (p=1.2)".to_owned());
    }
    let (Some(user), Some(timestamp), Some(token)) = (param("u"), param("t"), param("a")) else {
        return Reply::Failed("the handshake needs u, t and a".to_owned());
    };
    let Ok(timestamp_s) = timestamp.parse::<i64>() else {
        return Reply::Failed(format!("t must be unix seconds, got {timestamp:?}"));
    };
    if timestamp_s.abs_diff(app.scrobbling.clock().now_s()) > MAX_CLOCK_SKEW_S.unsigned_abs() {
        return Reply::BadTime;
    }
    if !user.eq_ignore_ascii_case(&app.user) {
        return Reply::BadAuth;
    }
    let token = token.to_ascii_lowercase();
    let proves = |secret: &str| {
        let hashed = constant_time_eq(token.as_bytes(), md5_hex(&format!("{}{timestamp}", md5_hex(secret))).as_bytes());
        let plain = constant_time_eq(token.as_bytes(), md5_hex(&format!("{secret}{timestamp}")).as_bytes());
        hashed | plain
    };
    let credential = match (param("api_key"), param("sk")) {
        // 1.2.1: an API key, a session of it, and md5(secret + t).
        (Some(api_key), Some(session_key)) => {
            let credentials = app.scrobbling.credentials();
            credentials
                .by_api_key(api_key)
                .filter(|(credential, _)| credential.api == Api::Lastfm)
                .filter(|(credential, _)| {
                    credentials.by_session(session_key).is_some_and(|owner| owner.id == credential.id)
                })
                .filter(|(_, secret)| {
                    constant_time_eq(token.as_bytes(), md5_hex(&format!("{secret}{timestamp}")).as_bytes())
                })
                .map(|(credential, _)| credential)
        }
        _ => app
            .scrobbling
            .credentials()
            .lastfm_secrets()
            .into_iter()
            .find(|(_, secret)| proves(secret))
            .map(|(credential, _)| credential),
    };
    let Some(credential) = credential else { return Reply::BadAuth };
    let Some(host) = request.headers().get(hyper::header::HOST).and_then(|host| host.to_str().ok()) else {
        return Reply::Failed("the handshake needs a Host header (HTTP/1.1)".to_owned());
    };
    let base = format!("{}://{host}", app.scheme);
    Reply::Session {
        id: app.scrobbling.credentials().new_submission_session(credential.id),
        now_playing_url: format!("{base}{NOW_PLAYING_PATH}"),
        submissions_url: format!("{base}{SUBMISSIONS_PATH}"),
    }
}

/// The credential of a live session, counted against its budget.
fn session(app: &App, form: &BTreeMap<String, String>) -> Result<CredentialRecord, Reply> {
    let credential = form
        .get("s")
        .and_then(|session| app.scrobbling.credentials().by_submission_session(session.trim()))
        .ok_or(Reply::BadSession)?;
    let budget =
        app.limiter.take(&format!("credential:{}", credential.id), app.scrobbling.clock().now_s().max(0) as u64);
    if budget.exceeded {
        return Err(Reply::Failed("too many requests; try again later".to_owned()));
    }
    Ok(credential)
}

fn now_playing(app: &App, form: &BTreeMap<String, String>) -> Reply {
    let credential = match session(app, form) {
        Ok(credential) => credential,
        Err(reply) => return reply,
    };
    let field = |name: &str| form.get(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
    let (Some(artist), Some(track)) = (field("a"), field("t")) else {
        return Reply::Failed("a now-playing notification needs a (artist) and t (track)".to_owned());
    };
    app.scrobbling.now_playing(NowPlaying {
        source: credential.name,
        artist,
        track,
        album: field("b"),
        // Saturating: a length of 2^64 / 1000 seconds or more is no overflow, just too long.
        duration_ms: field("l")
            .and_then(|seconds| seconds.parse::<u64>().ok())
            .map(|seconds| seconds.saturating_mul(1000)),
        at_ms: 0,
    });
    Reply::Ok
}

/// Stores the plays of a submission, all or none. Plays that cannot be stored
/// (no artist or track, too long a name, dated before 2002-10-01 or over an
/// hour ahead) and skipped or banned ones (`r` = `S`, `B`) are left out, as
/// Last.fm did: answering `FAILED` would have the client send them forever.
async fn submit(app: &App, form: &BTreeMap<String, String>) -> Reply {
    let credential = match session(app, form) {
        Ok(credential) => credential,
        Err(reply) => return reply,
    };
    let mut items: BTreeMap<usize, BTreeMap<&str, &str>> = BTreeMap::new();
    for (name, value) in form {
        let Some((field, rest)) = name.split_once('[') else { continue };
        let Some(index) = rest.strip_suffix(']').and_then(|index| index.parse::<usize>().ok()) else { continue };
        if index >= MAX_SUBMISSIONS {
            return Reply::Failed(format!("a submission holds at most {MAX_SUBMISSIONS} plays ({name})"));
        }
        items.entry(index).or_default().insert(field, value.trim());
    }
    let now_s = app.scrobbling.clock().now_s();
    let mut listens = Vec::with_capacity(items.len());
    for (index, item) in &items {
        let field = |name: &str| item.get(name).copied().filter(|value| !value.is_empty());
        let Some(started) = field("i") else {
            return Reply::Failed(format!("play {index} has no i (start time)"));
        };
        let Ok(started_s) = started.parse::<i64>() else {
            return Reply::Failed(format!("i[{index}] must be unix seconds, got {started:?}"));
        };
        let (Some(artist), Some(track)) = (field("a"), field("t")) else { continue };
        let album = field("b");
        let too_long = [Some(artist), Some(track), album].iter().flatten().any(|name| name.len() > MAX_NAME_BYTES);
        let rating = field("r").unwrap_or("");
        if too_long || !(MINIMUM_TS..=now_s + MAX_FUTURE_S).contains(&started_s) || matches!(rating, "S" | "B") {
            continue;
        }
        listens.push(Listen {
            artist: artist.to_owned(),
            track: track.to_owned(),
            album: album.map(str::to_owned),
            artists: Vec::new(),
            started_ms: started_s * 1000,
            duration_ms: field("l")
                .and_then(|seconds| seconds.parse::<u64>().ok())
                .filter(|seconds| *seconds > 0)
                .map(|seconds| seconds.saturating_mul(1000)),
            loved: (rating == "L").then_some(true),
            details: None,
        });
    }
    if listens.is_empty() {
        return Reply::Ok;
    }
    match app.scrobbling.submit(&credential.name, listens, true).await {
        Ok(_) => Reply::Ok,
        Err(Error::User(UserError::InvalidParams(message))) => Reply::Failed(message),
        Err(err) => {
            tracing::error!(error = %err, "cannot store Audioscrobbler submissions");
            Reply::Failed("the plays could not be stored; nothing was recorded, try again".to_owned())
        }
    }
}
