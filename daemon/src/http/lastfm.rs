//! The Last.fm 2.0 API (`/2.0/`) as scrobblers use it: `auth.getMobileSession`,
//! `auth.getToken` + `auth.getSession`, `track.updateNowPlaying`, `track.scrobble`
//! (batches of up to 50), `track.love` and `track.unlove`, and the reads
//! `user.getInfo` and `user.getRecentTracks`. XML by default, JSON with
//! `format=json`; Last.fm's error codes and `ignoredMessage` codes.
//!
//! Every call names an API key issued by `musiquectl tokens create --api lastfm`;
//! every write is signed with its shared secret (`api_sig`), reads need no
//! signature (one that is given is checked). A method musique does not serve is
//! error 3 whether signed or not. The password of `auth.getMobileSession` is that
//! shared secret too: the plain `password` form and the older `authToken` =
//! md5(username + md5(password)) form are both accepted, with the user name as
//! typed or lower-cased (clients differ). Parameters are read from the query
//! string and the form body together (some clients put `username` in the query).

use std::collections::BTreeMap;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use md5::{Digest, Md5};
use musique_lastfm::codes::ErrorCode as Code;
use serde_json::{Value, json};

use super::{Answer, App, BodyError, query_pairs, read_body};
use crate::error::{Error, UserError};
use crate::library::Listen;
use crate::scrobbling::credentials::{CredentialRecord, WebToken};
use crate::scrobbling::{Api, NowPlaying};
use crate::store::{Feedback, FeedbackSubject};

/// Largest request body (50 scrobbles with long names fit many times over).
const MAX_BODY: usize = 1024 * 1024;
/// Most scrobbles in one `track.scrobble`.
const MAX_SCROBBLES: usize = 50;
/// Earliest timestamp accepted: 2002-10-01 UTC, as for ListenBrainz.
pub(super) const MINIMUM_TS: i64 = 1_033_430_400;
/// How far ahead of the server's clock a timestamp may be.
pub(super) const MAX_FUTURE_S: i64 = 3600;
/// Longest name accepted, in bytes.
pub(super) const MAX_NAME_BYTES: usize = 1024;
/// `user.getRecentTracks` page size by default, and at most (Last.fm's).
const DEFAULT_RECENT_LIMIT: u64 = 50;
const MAX_RECENT_LIMIT: u64 = 200;
/// The image sizes Last.fm lists for a track (musique has no images: their URLs are empty).
const IMAGE_SIZES: [&str; 4] = ["small", "medium", "large", "extralarge"];

/// The methods served, each with whether it must be signed.
const METHODS: [(&str, bool); 9] = [
    ("auth.getmobilesession", true),
    ("auth.gettoken", true),
    ("auth.getsession", true),
    ("track.updatenowplaying", true),
    ("track.scrobble", true),
    ("track.love", true),
    ("track.unlove", true),
    ("user.getinfo", false),
    ("user.getrecenttracks", false),
];

/// A Last.fm error.
struct Failure {
    code: Code,
    message: String,
}

fn fail(code: Code, message: impl Into<String>) -> Failure {
    Failure { code, message: message.into() }
}

/// `ignoredMessage` codes.
const IGNORED_ARTIST: u32 = 1;
const IGNORED_TRACK: u32 = 2;
const IGNORED_TOO_OLD: u32 = 3;
const IGNORED_TOO_NEW: u32 = 4;

/// The answer format a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

/// Serves `/2.0/`.
pub(super) async fn handle(app: &App, request: Request<Incoming>) -> Answer {
    let method = request.method().clone();
    let mut params: BTreeMap<String, String> = query_pairs(&request).into_iter().collect();
    let format_of = |params: &BTreeMap<String, String>| {
        if params.get("format").is_some_and(|format| format == "json") { Format::Json } else { Format::Xml }
    };
    if method == Method::POST {
        match read_body(request, MAX_BODY).await {
            Ok(body) => params.extend(form_urlencoded::parse(&body).into_owned()),
            Err(BodyError::TooLarge(cap)) => {
                let failure = fail(
                    Code::InvalidParameters,
                    format!("Invalid parameters - a request may carry at most {cap} bytes"),
                );
                return failure_answer(format_of(&params), StatusCode::PAYLOAD_TOO_LARGE, &failure);
            }
            Err(BodyError::Broken(message)) => {
                let failure = fail(
                    Code::InvalidParameters,
                    format!("Invalid parameters - cannot read the request body: {message}"),
                );
                return failure_answer(format_of(&params), StatusCode::BAD_REQUEST, &failure);
            }
        }
    } else if method != Method::GET {
        let failure = fail(Code::InvalidMethod, "Invalid Method - use GET or POST");
        return failure_answer(format_of(&params), StatusCode::METHOD_NOT_ALLOWED, &failure);
    }
    let format = format_of(&params);
    match call(app, &method, &params).await {
        Ok(body) => ok_answer(format, body),
        Err(failure) => failure_answer(format, status_of(failure.code), &failure),
    }
}

/// The HTTP status Last.fm pairs with an error code.
fn status_of(code: Code) -> StatusCode {
    match code {
        Code::AuthenticationFailed
        | Code::InvalidSessionKey
        | Code::InvalidApiKey
        | Code::InvalidSignature
        | Code::UnauthorizedToken
        | Code::TokenExpired
        | Code::SuspendedApiKey => StatusCode::FORBIDDEN,
        Code::RateLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
        Code::OperationFailed | Code::ServiceOffline | Code::TemporaryError => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Answers one call: `None` is a success with nothing to say (`<lfm status="ok"></lfm>`, `{}`).
async fn call(app: &App, http_method: &Method, params: &BTreeMap<String, String>) -> Result<Option<Node>, Failure> {
    let method = params.get("method").map(|method| method.to_ascii_lowercase()).unwrap_or_default();
    if method.is_empty() {
        return Err(fail(Code::InvalidMethod, "Invalid Method - No method with that name in this package"));
    }
    let Some(&(_, signed)) = METHODS.iter().find(|(name, _)| *name == method) else {
        return Err(fail(Code::InvalidMethod, format!("Invalid Method - musique does not serve {}", params["method"])));
    };
    let (credential, secret) = params
        .get("api_key")
        .and_then(|key| app.scrobbling.credentials().by_api_key(key))
        .filter(|(credential, _)| credential.api == Api::Lastfm)
        .ok_or_else(|| fail(Code::InvalidApiKey, "Invalid API key - You must be granted a valid key by musique (`musiquectl tokens create NAME --api lastfm`)"))?;
    let budget =
        app.limiter.take(&format!("credential:{}", credential.id), app.scrobbling.clock().now_s().max(0) as u64);
    if budget.exceeded {
        return Err(fail(
            Code::RateLimitExceeded,
            "Rate Limit Exceeded - Your client has made too many requests in a short period",
        ));
    }
    if signed || params.contains_key("api_sig") {
        verify_signature(params, &secret)?;
    }
    let node = match method.as_str() {
        "auth.getmobilesession" => {
            if http_method != Method::POST {
                return Err(fail(
                    Code::AuthenticationFailed,
                    "Authentication Failed - auth.getMobileSession must be POSTed",
                ));
            }
            mobile_session(app, params, &credential, &secret).await?
        }
        "auth.gettoken" => Node::leaf("token", app.scrobbling.credentials().new_web_token(credential.id)),
        "auth.getsession" => {
            let token = required(params, "token")?;
            match app.scrobbling.credentials().take_web_token(token, credential.id) {
                WebToken::Taken => session_node(app, &credential).await?,
                WebToken::Expired => return Err(fail(Code::TokenExpired, "This token has expired")),
                WebToken::Unknown => {
                    return Err(fail(Code::AuthenticationFailed, "Invalid authentication token supplied"));
                }
            }
        }
        "track.updatenowplaying" => {
            session_of(app, params, &credential)?;
            now_playing(app, params, &credential)?
        }
        "track.scrobble" => {
            session_of(app, params, &credential)?;
            scrobble(app, params, &credential).await?
        }
        "track.love" | "track.unlove" => {
            session_of(app, params, &credential)?;
            love(app, params, &credential, method == "track.love").await?;
            return Ok(None);
        }
        "user.getinfo" => user_info(app, params).await?,
        "user.getrecenttracks" => recent_tracks(app, params).await?,
        _ => {
            return Err(fail(
                Code::InvalidMethod,
                format!("Invalid Method - musique does not serve {}", params["method"]),
            ));
        }
    };
    Ok(Some(node))
}

/// Checks `api_sig`: md5 of every parameter but `format`, `callback` and `api_sig`,
/// sorted by name, as `namevalue`, then the shared secret.
fn verify_signature(params: &BTreeMap<String, String>, secret: &str) -> Result<(), Failure> {
    let given =
        params.get("api_sig").ok_or_else(|| fail(Code::InvalidSignature, "Invalid method signature supplied"))?;
    let expected = signature(params, secret);
    if constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(fail(Code::InvalidSignature, "Invalid method signature supplied"))
    }
}

/// The `api_sig` of some parameters (lowercase hex), as the Last.fm adapter signs.
fn signature(params: &BTreeMap<String, String>, secret: &str) -> String {
    let pairs: Vec<(&str, &str)> = params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    musique_lastfm::client::api_sig(&pairs, secret)
}

pub(super) fn md5_hex(text: &str) -> String {
    crate::scrobbling::credentials::hex(&Md5::digest(text.as_bytes()))
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn required<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, Failure> {
    params.get(name).map(String::as_str).filter(|value| !value.trim().is_empty()).ok_or_else(|| {
        fail(
            Code::InvalidParameters,
            format!("Invalid parameters - Your request is missing a required parameter: {name}"),
        )
    })
}

async fn mobile_session(
    app: &App,
    params: &BTreeMap<String, String>,
    credential: &CredentialRecord,
    secret: &str,
) -> Result<Node, Failure> {
    let username = required(params, "username")?;
    let denied = || {
        fail(Code::AuthenticationFailed, "Authentication Failed - You do not have permissions to access the service")
    };
    if !username.eq_ignore_ascii_case(&app.user) {
        return Err(denied());
    }
    let accepted = match (params.get("password"), params.get("authToken")) {
        (Some(password), _) => constant_time_eq(password.as_bytes(), secret.as_bytes()),
        (None, Some(token)) => {
            // Clients hash the user name as typed, or lower-cased (pyscrobbler).
            let token = token.to_ascii_lowercase();
            let password_hash = md5_hex(secret);
            [username.to_owned(), username.to_lowercase(), app.user.clone()].iter().fold(false, |accepted, name| {
                let expected = md5_hex(&format!("{name}{password_hash}"));
                constant_time_eq(token.as_bytes(), expected.as_bytes()) | accepted
            })
        }
        (None, None) => {
            return Err(fail(
                Code::InvalidParameters,
                "Invalid parameters - Your request is missing a required parameter: password",
            ));
        }
    };
    if !accepted {
        return Err(denied());
    }
    session_node(app, credential).await
}

async fn session_node(app: &App, credential: &CredentialRecord) -> Result<Node, Failure> {
    let key = app.scrobbling.credentials().new_session(credential.id).await.map_err(|err| {
        tracing::error!(error = %err, "cannot store a Last.fm API session");
        fail(Code::OperationFailed, "Operation failed - Most likely the backend service failed. Please try again.")
    })?;
    // `subscriber` is a number in JSON: typed clients (rustfm-scrobble) refuse a string.
    Ok(Node::parent(
        "session",
        vec![
            Node::leaf("name", app.user.clone()),
            Node::leaf("key", key),
            Node::Number { name: "subscriber", value: 0 },
        ],
    ))
}

/// The session key must be one issued to this API key.
fn session_of(app: &App, params: &BTreeMap<String, String>, credential: &CredentialRecord) -> Result<(), Failure> {
    let invalid = || fail(Code::InvalidSessionKey, "Invalid session key - Please re-authenticate");
    let key = params.get("sk").ok_or_else(invalid)?;
    match app.scrobbling.credentials().by_session(key) {
        Some(owner) if owner.id == credential.id => Ok(()),
        _ => Err(invalid()),
    }
}

fn now_playing(app: &App, params: &BTreeMap<String, String>, credential: &CredentialRecord) -> Result<Node, Failure> {
    let artist = required(params, "artist")?.trim().to_owned();
    let track = required(params, "track")?.trim().to_owned();
    let album = params.get("album").map(|album| album.trim().to_owned()).filter(|album| !album.is_empty());
    let duration_ms = params
        .get("duration")
        .and_then(|duration| duration.trim().parse::<u64>().ok())
        .map(|seconds| seconds.saturating_mul(1000));
    let album_artist = params.get("albumArtist").cloned().unwrap_or_default();
    let node = Node::parent(
        "nowplaying",
        vec![
            Node::corrected("track", &track),
            Node::corrected("artist", &artist),
            Node::corrected("album", album.as_deref().unwrap_or("")),
            Node::corrected("albumArtist", &album_artist),
            Node::ignored(0, ""),
        ],
    );
    app.scrobbling.now_playing(NowPlaying {
        source: credential.name.clone(),
        artist,
        track,
        album,
        duration_ms,
        at_ms: 0,
    });
    Ok(node)
}

/// One item of a `track.scrobble` batch.
#[derive(Debug, Default)]
struct Item {
    artist: String,
    track: String,
    timestamp: String,
    album: String,
    album_artist: String,
    duration: Option<u64>,
}

/// The items of a batch, by index; `artist` without `[i]` is item 0.
fn batch_items(params: &BTreeMap<String, String>) -> Result<BTreeMap<usize, Item>, Failure> {
    let mut items: BTreeMap<usize, Item> = BTreeMap::new();
    for (name, value) in params {
        let (field, index) = match name.split_once('[') {
            Some((field, rest)) => {
                let Some(index) = rest.strip_suffix(']').and_then(|index| index.parse::<usize>().ok()) else {
                    continue;
                };
                (field, index)
            }
            None => (name.as_str(), 0),
        };
        if !matches!(field, "artist" | "track" | "timestamp" | "album" | "albumArtist" | "duration") {
            continue;
        }
        if index >= MAX_SCROBBLES {
            return Err(fail(
                Code::InvalidParameters,
                format!("Invalid parameters - a batch holds at most {MAX_SCROBBLES} scrobbles ({name})"),
            ));
        }
        let item = items.entry(index).or_default();
        match field {
            "artist" => item.artist = value.trim().to_owned(),
            "track" => item.track = value.trim().to_owned(),
            "timestamp" => item.timestamp = value.trim().to_owned(),
            "album" => item.album = value.trim().to_owned(),
            "albumArtist" => item.album_artist = value.trim().to_owned(),
            _ => item.duration = value.trim().parse().ok(),
        }
    }
    if items.is_empty() {
        return Err(fail(
            Code::InvalidParameters,
            "Invalid parameters - Your request is missing a required parameter: artist[0]",
        ));
    }
    for (index, item) in &items {
        for field in ["artist", "track", "timestamp"] {
            let given =
                params.contains_key(&format!("{field}[{index}]")) || (*index == 0 && params.contains_key(field));
            if !given {
                return Err(fail(
                    Code::InvalidParameters,
                    format!("Invalid parameters - Your request is missing a required parameter: {field}[{index}]"),
                ));
            }
        }
        if item.timestamp.parse::<i64>().is_err() {
            return Err(fail(
                Code::InvalidParameters,
                format!("Invalid parameters - timestamp[{index}] must be unix seconds, got {:?}", item.timestamp),
            ));
        }
    }
    Ok(items)
}

async fn scrobble(
    app: &App,
    params: &BTreeMap<String, String>,
    credential: &CredentialRecord,
) -> Result<Node, Failure> {
    let items = batch_items(params)?;
    let now_s = app.scrobbling.clock().now_s();
    let mut listens = Vec::new();
    let mut nodes = Vec::new();
    let mut ignored = 0;
    for item in items.values() {
        let timestamp = item.timestamp.parse::<i64>().expect("checked by batch_items");
        let verdict = if item.artist.is_empty() || item.artist.len() > MAX_NAME_BYTES {
            Some((IGNORED_ARTIST, "Artist name failed filter"))
        } else if item.track.is_empty() || item.track.len() > MAX_NAME_BYTES || item.album.len() > MAX_NAME_BYTES {
            Some((IGNORED_TRACK, "Track name failed filter"))
        } else if timestamp < MINIMUM_TS {
            Some((IGNORED_TOO_OLD, "Timestamp too old"))
        } else if timestamp > now_s + MAX_FUTURE_S {
            Some((IGNORED_TOO_NEW, "Timestamp too new"))
        } else {
            None
        };
        let (code, message) = verdict.unwrap_or((0, ""));
        if verdict.is_some() {
            ignored += 1;
        } else {
            listens.push(Listen {
                artist: item.artist.clone(),
                track: item.track.clone(),
                album: Some(item.album.clone()).filter(|album| !album.is_empty()),
                artists: Vec::new(),
                started_ms: timestamp.saturating_mul(1000),
                duration_ms: item.duration.map(|seconds| seconds.saturating_mul(1000)),
                loved: None,
                details: None,
            });
        }
        nodes.push(Node::parent(
            "scrobble",
            vec![
                Node::corrected("track", &item.track),
                Node::corrected("artist", &item.artist),
                Node::corrected("album", &item.album),
                Node::corrected("albumArtist", &item.album_artist),
                Node::leaf("timestamp", item.timestamp.clone()),
                Node::ignored(code, message),
            ],
        ));
    }
    let accepted = listens.len();
    if !listens.is_empty() {
        match app.scrobbling.submit(&credential.name, listens, true).await {
            Ok(_) => {}
            Err(Error::User(UserError::InvalidParams(message))) => {
                return Err(fail(Code::InvalidParameters, format!("Invalid parameters - {message}")));
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot store scrobbles");
                return Err(fail(
                    Code::TemporaryError,
                    "There was a temporary error processing your request. Please try again",
                ));
            }
        }
    }
    Ok(Node::Element {
        name: "scrobbles",
        attributes: vec![("accepted", accepted.to_string()), ("ignored", ignored.to_string())],
        text: None,
        children: nodes,
    })
}

/// `track.love` and `track.unlove`: the track's loved flag, as the credential's client set it.
async fn love(
    app: &App,
    params: &BTreeMap<String, String>,
    credential: &CredentialRecord,
    loved: bool,
) -> Result<(), Failure> {
    let artist = required(params, "artist")?.trim().to_owned();
    let track = required(params, "track")?.trim().to_owned();
    if artist.len() > MAX_NAME_BYTES || track.len() > MAX_NAME_BYTES {
        return Err(fail(
            Code::InvalidParameters,
            format!("Invalid parameters - names are limited to {MAX_NAME_BYTES} bytes"),
        ));
    }
    let library = app.library.clone();
    let source = credential.name.clone();
    let stored = if loved {
        let subject = FeedbackSubject::Track(library.track_key(&artist, &track));
        library.set_feedback(subject, Feedback::Love, &source).await.map_err(|err| err.to_string())
    } else {
        match tokio::task::spawn_blocking(move || library.set_loved(&artist, &track, false, &source)).await {
            Ok(stored) => stored.map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        }
    };
    stored.map_err(|error| {
        tracing::error!(%error, "cannot store a loved flag");
        fail(Code::TemporaryError, "There was a temporary error processing your request. Please try again")
    })
}

/// `user.getRecentTracks`: the listens newest first, a page at a time, with what
/// is playing now first on page 1 (`nowplaying="true"`, no date) unless `to` is given.
async fn recent_tracks(app: &App, params: &BTreeMap<String, String>) -> Result<Node, Failure> {
    if let Some(user) = params.get("user")
        && !user.eq_ignore_ascii_case(&app.user)
    {
        return Err(fail(Code::InvalidParameters, "User not found"));
    }
    let number = |name: &str| -> Result<Option<u64>, Failure> {
        match params.get(name).map(|value| value.trim()).filter(|value| !value.is_empty()) {
            None => Ok(None),
            Some(value) => value.parse::<u64>().map(Some).map_err(|_| {
                fail(
                    Code::InvalidParameters,
                    format!("Invalid parameters - {name} must be a whole number, got {value:?}"),
                )
            }),
        }
    };
    let page = number("page")?.unwrap_or(1).max(1);
    let limit = number("limit")?.unwrap_or(DEFAULT_RECENT_LIMIT).clamp(1, MAX_RECENT_LIMIT);
    let (from, to) = (number("from")?.unwrap_or(0), number("to")?);
    let extended = params.get("extended").is_some_and(|value| value == "1" || value.eq_ignore_ascii_case("true"));
    let skip = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    let library = app.library.clone();
    let (listens, total) =
        super::read_store(move || library.listens_page(from, to.unwrap_or(u64::MAX), skip, limit as usize))
            .await
            .map_err(|()| {
                fail(
                    Code::OperationFailed,
                    "Operation failed - Most likely the backend service failed. Please try again.",
                )
            })?;
    let mut tracks = Vec::with_capacity(listens.len() + 1);
    if page == 1
        && to.is_none()
        && let Some(playing) = app.scrobbling.playing()
    {
        let names = TrackNames { artist: &playing.artist, track: &playing.track, album: playing.album.as_deref() };
        tracks.push(track_node(&names, None, extended.then_some(false)));
    }
    for listen in &listens {
        let record = &listen.record;
        let names = TrackNames {
            artist: record.credit.as_deref().unwrap_or(&record.artist),
            track: record.raw_title.as_deref().unwrap_or(&record.track),
            album: record.album.as_deref(),
        };
        tracks.push(track_node(&names, Some(listen.key.start_s), extended.then_some(listen.loved)));
    }
    let attributes = vec![
        ("user", app.user.clone()),
        ("page", page.to_string()),
        ("perPage", limit.to_string()),
        ("totalPages", total.div_ceil(limit).to_string()),
        ("total", total.to_string()),
    ];
    Ok(Node::List { name: "recenttracks", item: "track", attributes, children: tracks })
}

/// A unix second as Last.fm shows a scrobble's date: `20 Oct 2020, 10:03` (UTC).
fn display_date(seconds: u64) -> String {
    let Some(at) =
        i64::try_from(seconds).ok().and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
    else {
        return String::new();
    };
    let month = at.month().to_string();
    format!("{:02} {} {}, {:02}:{:02}", at.day(), &month[..3], at.year(), at.hour(), at.minute())
}

/// What a recent track is called.
struct TrackNames<'a> {
    artist: &'a str,
    track: &'a str,
    album: Option<&'a str>,
}

/// One `<track>` of `user.getRecentTracks`: dated unless playing now; `loved` only when extended.
fn track_node(names: &TrackNames<'_>, start_s: Option<u64>, loved: Option<bool>) -> Node {
    let images = || IMAGE_SIZES.iter().map(|size| Node::with_attribute("image", "size", size, ""));
    let artist = if loved.is_some() {
        let mut children = vec![Node::leaf("url", ""), Node::leaf("mbid", "")];
        children.extend(images());
        children.push(Node::leaf("name", names.artist));
        Node::parent("artist", children)
    } else {
        Node::with_attribute("artist", "mbid", "", names.artist)
    };
    let mut children = vec![
        artist,
        Node::leaf("name", names.track),
        Node::leaf("streamable", "0"),
        Node::leaf("mbid", ""),
        Node::with_attribute("album", "mbid", "", names.album.unwrap_or("")),
        Node::leaf("url", ""),
    ];
    children.extend(images());
    if let Some(start_s) = start_s {
        let when = display_date(start_s);
        children.push(Node::with_attribute("date", "uts", &start_s.to_string(), &when));
    }
    if let Some(loved) = loved {
        children.push(Node::leaf("loved", if loved { "1" } else { "0" }));
    }
    let attributes = if start_s.is_none() { vec![("nowplaying", "true".to_owned())] } else { Vec::new() };
    Node::Element { name: "track", attributes, text: None, children }
}

async fn user_info(app: &App, params: &BTreeMap<String, String>) -> Result<Node, Failure> {
    if let Some(user) = params.get("user")
        && !user.eq_ignore_ascii_case(&app.user)
    {
        return Err(fail(Code::InvalidParameters, "User not found"));
    }
    let library = app.library.clone();
    let (counts, bounds) =
        super::read_store(move || Ok((library.counts()?, library.listen_bounds()?))).await.map_err(|()| {
            fail(Code::OperationFailed, "Operation failed - Most likely the backend service failed. Please try again.")
        })?;
    let registered = bounds.map_or(0, |(oldest, _)| oldest);
    Ok(Node::parent(
        "user",
        vec![
            Node::leaf("name", app.user.clone()),
            Node::leaf("realname", ""),
            Node::leaf("url", ""),
            Node::leaf("country", "None"),
            Node::leaf("age", "0"),
            Node::leaf("gender", "n"),
            Node::leaf("subscriber", "0"),
            Node::leaf("playcount", counts.listens.to_string()),
            Node::leaf("artist_count", counts.artists.to_string()),
            Node::leaf("album_count", counts.albums.to_string()),
            Node::leaf("track_count", counts.tracks.to_string()),
            Node::leaf("playlists", "0"),
            Node::leaf("bootstrap", "0"),
            Node::Element {
                name: "registered",
                attributes: vec![("unixtime", registered.to_string())],
                text: Some(registered.to_string()),
                children: Vec::new(),
            },
            Node::leaf("type", "user"),
        ],
    ))
}

/// `GET /api/auth/?api_key=…&token=…`: where `auth.getToken` clients send the user.
/// A signed `auth.getToken` already proves the client holds the shared secret, so
/// the token is authorised from the start; this page only says so.
pub(super) fn auth_page(app: &App, request: &Request<Incoming>) -> Answer {
    let query: BTreeMap<String, String> = query_pairs(request).into_iter().collect();
    let known = query.get("api_key").and_then(|key| app.scrobbling.credentials().by_api_key(key));
    let (status, message) = match known {
        Some((credential, _)) => (
            StatusCode::OK,
            format!(
                "The client “{}” may now sign in to musique. Go back to it to finish.",
                xml_escape(&credential.name)
            ),
        ),
        None => (
            StatusCode::NOT_FOUND,
            "This API key is unknown to musique; create one with `musiquectl tokens create NAME --api lastfm`."
                .to_owned(),
        ),
    };
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>musique</title></head><body><p>{message}</p></body></html>"
    );
    super::with_type(status, page.into_bytes(), "text/html; charset=utf-8")
}

/// An answer tree, written as Last.fm's XML or its JSON translation.
#[derive(Debug)]
enum Node {
    Element {
        name: &'static str,
        attributes: Vec<(&'static str, String)>,
        text: Option<String>,
        children: Vec<Node>,
    },
    /// A number: its text in XML, a JSON number.
    Number {
        name: &'static str,
        value: u64,
    },
    /// A list of `item` elements: in JSON always an array (even of one or none),
    /// with the attributes as strings in `@attr`, as Last.fm sends pages.
    List {
        name: &'static str,
        item: &'static str,
        attributes: Vec<(&'static str, String)>,
        children: Vec<Node>,
    },
}

impl Node {
    fn name(&self) -> &'static str {
        match self {
            Node::Element { name, .. } | Node::Number { name, .. } | Node::List { name, .. } => name,
        }
    }

    /// `<name attribute="value">text</name>`.
    fn with_attribute(name: &'static str, attribute: &'static str, value: &str, text: &str) -> Node {
        Node::Element {
            name,
            attributes: vec![(attribute, value.to_owned())],
            text: Some(text.to_owned()),
            children: Vec::new(),
        }
    }

    fn leaf(name: &'static str, text: impl Into<String>) -> Node {
        Node::Element { name, attributes: Vec::new(), text: Some(text.into()), children: Vec::new() }
    }

    fn parent(name: &'static str, children: Vec<Node>) -> Node {
        Node::Element { name, attributes: Vec::new(), text: None, children }
    }

    /// `<name corrected="0">text</name>`.
    fn corrected(name: &'static str, text: &str) -> Node {
        Node::Element {
            name,
            attributes: vec![("corrected", "0".to_owned())],
            text: Some(text.to_owned()),
            children: Vec::new(),
        }
    }

    /// `<ignoredMessage code="N">text</ignoredMessage>`.
    fn ignored(code: u32, text: &str) -> Node {
        Node::Element {
            name: "ignoredMessage",
            attributes: vec![("code", code.to_string())],
            text: Some(text.to_owned()),
            children: Vec::new(),
        }
    }

    fn write_xml(&self, out: &mut String) {
        let (name, attributes, text, children) = match self {
            Node::Element { name, attributes, text, children } => (name, attributes, text.clone(), children),
            Node::Number { name, value } => {
                out.push_str(&format!("<{name}>{value}</{name}>"));
                return;
            }
            Node::List { name, attributes, children, .. } => (name, attributes, None, children),
        };
        out.push('<');
        out.push_str(name);
        for (key, value) in attributes {
            out.push_str(&format!(" {key}=\"{}\"", xml_escape(value)));
        }
        out.push('>');
        if let Some(text) = text {
            out.push_str(&xml_escape(&text));
        }
        for child in children {
            child.write_xml(out);
        }
        out.push_str(&format!("</{name}>"));
    }

    /// Last.fm's JSON translation: text-only elements with attributes become
    /// `{attr…, "#text"}`, attributes of elements with children go to `@attr`.
    fn to_json(&self) -> Value {
        let (attributes, text, children) = match self {
            Node::Element { attributes, text, children, .. } => (attributes, text, children),
            Node::Number { value, .. } => return json!(value),
            Node::List { item, attributes, children, .. } => {
                let attr: serde_json::Map<String, Value> =
                    attributes.iter().map(|(key, value)| ((*key).to_owned(), json!(value))).collect();
                let items: Vec<Value> = children.iter().map(Node::to_json).collect();
                return json!({ *item: items, "@attr": attr });
            }
        };
        if children.is_empty() {
            let text = Value::String(text.clone().unwrap_or_default());
            if attributes.is_empty() {
                return text;
            }
            let mut object: serde_json::Map<String, Value> =
                attributes.iter().map(|(key, value)| ((*key).to_owned(), Value::String(value.clone()))).collect();
            object.insert("#text".to_owned(), text);
            return Value::Object(object);
        }
        let mut object = serde_json::Map::new();
        for child in children {
            let name = child.name();
            let value = child.to_json();
            match object.get_mut(name) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => *existing = Value::Array(vec![existing.take(), value]),
                None => {
                    object.insert(name.to_owned(), value);
                }
            }
        }
        if !attributes.is_empty() {
            let attr = attributes
                .iter()
                .map(|(key, value)| {
                    ((*key).to_owned(), value.parse::<u64>().map_or_else(|_| json!(value), |n| json!(n)))
                })
                .collect();
            object.insert("@attr".to_owned(), Value::Object(attr));
        }
        Value::Object(object)
    }
}

fn ok_answer(format: Format, body: Option<Node>) -> Answer {
    match format {
        Format::Json => match body {
            Some(body) => super::json(StatusCode::OK, &json!({ body.name(): body.to_json() })),
            None => super::json(StatusCode::OK, &json!({})),
        },
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lfm status=\"ok\">");
            if let Some(body) = body {
                body.write_xml(&mut out);
            }
            out.push_str("</lfm>\n");
            super::with_type(StatusCode::OK, out.into_bytes(), "text/xml; charset=utf-8")
        }
    }
}

fn failure_answer(format: Format, status: StatusCode, failure: &Failure) -> Answer {
    match format {
        Format::Json => super::json(status, &json!({"error": failure.code.code(), "message": failure.message})),
        Format::Xml => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lfm status=\"failed\"><error code=\"{}\">{}</error></lfm>\n",
                failure.code.code(),
                xml_escape(&failure.message)
            );
            super::with_type(status, body.into_bytes(), "text/xml; charset=utf-8")
        }
    }
}

/// Text or an attribute value for XML 1.0: markup escaped, and each character the
/// format does not allow at all (control characters but tab, newline and carriage
/// return, U+FFFE, U+FFFF) replaced by U+FFFD.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_char(c) => out.push(c),
            // XML 1.0 cannot carry these even as references: the answer would not parse.
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// Whether XML 1.0 allows a character (its `Char` production; a `char` is never a surrogate).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn signatures_match_the_reference_vectors() {
        let session = params(&[
            ("api_key", "YOUR_API_KEY"),
            ("method", "auth.getSession"),
            ("token", "YOUR_REQUESTED_TOKEN"),
            ("format", "json"),
        ]);
        assert_eq!(signature(&session, "YOUR_SECRET"), "94539006de89b3c6b3c030bb1e52b9c4");
        let love = params(&[
            ("method", "track.love"),
            ("api_key", "YOUR_API_KEY"),
            ("artist", "KITANO REM"),
            ("track", "RAINSICK"),
            ("sk", "YOUR_SESSION_KEY"),
            ("api_sig", "ignored"),
            ("callback", "ignored"),
        ]);
        assert_eq!(signature(&love, "YOUR_SECRET"), "800b8884b00c9343d1d425ed271e0f42");
        // `artist[10]` sorts before `artist[1]` (byte order: '0' < ']').
        let batch = params(&[("artist[1]", "b"), ("artist[10]", "a")]);
        assert_eq!(signature(&batch, "s"), md5_hex("artist[10]aartist[1]bs"));
        let mut signed = love.clone();
        signed.insert("api_sig".into(), "800B8884B00C9343D1D425ED271E0F42".into());
        assert!(verify_signature(&signed, "YOUR_SECRET").is_ok(), "uppercase hex is accepted");
        assert_eq!(verify_signature(&signed, "OTHER").err().map(|failure| failure.code), Some(Code::InvalidSignature));
        signed.remove("api_sig");
        assert_eq!(
            verify_signature(&signed, "YOUR_SECRET").err().map(|failure| failure.code),
            Some(Code::InvalidSignature)
        );
    }

    #[test]
    fn batches_are_read_by_index() {
        let items = batch_items(&params(&[
            ("artist[0]", "BANKS"),
            ("track[0]", "Love Is Unkind"),
            ("timestamp[0]", "1700000000"),
            ("album[0]", "Off With Her Head"),
            ("artist[1]", "Mk.gee"),
            ("track[1]", "You"),
            ("timestamp[1]", "1700000060"),
            ("method", "track.scrobble"),
        ]))
        .unwrap_or_else(|failure| panic!("{}", failure.message));
        assert_eq!(items.len(), 2);
        assert_eq!(items[&0].album, "Off With Her Head");
        assert_eq!(items[&1].artist, "Mk.gee");
        let single =
            batch_items(&params(&[("artist", "A"), ("track", "T"), ("timestamp", "1700000000")])).ok().unwrap();
        assert_eq!(single[&0].track, "T");
        let code = |pairs: &[(&str, &str)]| {
            batch_items(&params(pairs)).err().map(|failure| (failure.code.code(), failure.message))
        };
        let (six, message) = code(&[("artist[0]", "A"), ("timestamp[0]", "1")]).unwrap();
        assert_eq!(six, 6);
        assert!(message.contains("track[0]"), "{message}");
        assert!(
            code(&[("artist[50]", "A"), ("track[50]", "T"), ("timestamp[50]", "1")]).unwrap().1.contains("at most 50")
        );
        assert!(code(&[("artist", "A"), ("track", "T"), ("timestamp", "soon")]).unwrap().1.contains("unix seconds"));
        assert!(code(&[("method", "track.scrobble")]).unwrap().1.contains("artist[0]"));
    }

    #[test]
    fn answers_in_both_formats() {
        let batch = Node::Element {
            name: "scrobbles",
            attributes: vec![("accepted", "1".into()), ("ignored", "0".into())],
            text: None,
            children: vec![Node::parent(
                "scrobble",
                vec![Node::corrected("artist", "Björk & <Co>"), Node::ignored(0, "")],
            )],
        };
        let mut xml = String::new();
        batch.write_xml(&mut xml);
        assert_eq!(
            xml,
            "<scrobbles accepted=\"1\" ignored=\"0\"><scrobble><artist corrected=\"0\">Björk &amp; &lt;Co&gt;</artist><ignoredMessage code=\"0\"></ignoredMessage></scrobble></scrobbles>"
        );
        let value = batch.to_json();
        assert_eq!(value["@attr"], json!({"accepted": 1, "ignored": 0}));
        assert_eq!(
            value["scrobble"]["artist"],
            json!({"corrected": "0", "#text": "Björk & <Co>"}),
            "one scrobble is an object"
        );
        assert_eq!(value["scrobble"]["ignoredMessage"], json!({"code": "0", "#text": ""}));
        let two = Node::parent("scrobbles", vec![Node::leaf("scrobble", "a"), Node::leaf("scrobble", "b")]);
        assert_eq!(two.to_json()["scrobble"], json!(["a", "b"]), "several are an array");
        assert_eq!(xml_escape("a\u{1}b"), "a\u{fffd}b");
        assert_eq!(xml_escape("\u{fffe}\u{ffff}\u{b}\u{7f}\u{10ffff}\t"), "\u{fffd}\u{fffd}\u{fffd}\u{7f}\u{10ffff}\t");
    }

    #[test]
    fn pages_numbers_and_dates() {
        assert_eq!(display_date(1_603_188_238), "20 Oct 2020, 10:03", "the reference capture's date");
        assert_eq!(display_date(0), "01 Jan 1970, 00:00");
        let page = |children: Vec<Node>| Node::List {
            name: "recenttracks",
            item: "track",
            attributes: vec![("page", "1".into()), ("total", "3".into())],
            children,
        };
        assert_eq!(page(Vec::new()).to_json(), json!({"track": [], "@attr": {"page": "1", "total": "3"}}));
        let one = page(vec![Node::leaf("track", "a")]);
        assert_eq!(one.to_json(), json!({"track": ["a"], "@attr": {"page": "1", "total": "3"}}), "one is an array too");
        let mut xml = String::new();
        one.write_xml(&mut xml);
        assert_eq!(xml, "<recenttracks page=\"1\" total=\"3\"><track>a</track></recenttracks>");
        let subscriber = Node::Number { name: "subscriber", value: 0 };
        assert_eq!(subscriber.to_json(), json!(0));
        let mut xml = String::new();
        subscriber.write_xml(&mut xml);
        assert_eq!(xml, "<subscriber>0</subscriber>");
    }
}
