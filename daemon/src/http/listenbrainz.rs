//! The ListenBrainz API (`/1/…`): submitting listens (`single`, `playing_now`,
//! `import`), deleting one, love/hate feedback, validating tokens, and reading
//! listens and feedback back, with ListenBrainz's validation rules,
//! `{"code", "error"}` error bodies and `X-RateLimit-*` headers.
//!
//! A `recording_msid` names a track: it is a UUID-shaped hash of the track's
//! canonical key, so every spelling and every listen of a track share it.

use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};

use super::limiter::Budget;
use super::{Answer, App, BodyError, query_pairs, read_body};
use crate::error::{Error, UserError};
use crate::identity::Name;
use crate::library::Listen;
use crate::scrobbling::credentials::{CredentialRecord, sha256};
use crate::scrobbling::{Api, NowPlaying};
use crate::store::records::{ListenDetails, ListenRecord, mbid};
use crate::store::{Feedback, FeedbackSubject, scoped_key};

/// Most listens in one `import` document.
const MAX_LISTENS_PER_REQUEST: usize = 1000;
/// Largest listen, serialised compactly, in bytes.
const MAX_LISTEN_SIZE: usize = 10_240;
/// Largest request body: a full `import` and its envelope.
const MAX_BODY: usize = MAX_LISTEN_SIZE * MAX_LISTENS_PER_REQUEST + 1024;
/// Most tags on one listen, and longest tag in characters.
const MAX_TAGS_PER_LISTEN: usize = 50;
const MAX_TAG_SIZE: usize = 64;
/// Earliest accepted `listened_at`: 2002-10-01 00:00:00 UTC, as ListenBrainz has it.
const LISTEN_MINIMUM_TS: i64 = 1_033_430_400;
/// How far ahead of the server's clock `listened_at` may be.
const MAX_FUTURE_S: i64 = 3600;
/// Longest `duration` accepted, in seconds: 24 days, ListenBrainz's cap.
const MAX_DURATION_S: u64 = 24 * 24 * 60 * 60;
/// Longest `duration_ms` accepted: the same 24 days.
const MAX_DURATION_MS: u64 = MAX_DURATION_S * 1000;
/// Listens one `GET …/listens` returns by default, and at most.
const DEFAULT_ITEMS_PER_GET: usize = 25;
const MAX_ITEMS_PER_GET: usize = 1000;
/// Largest `delete-listen` or `recording-feedback` body.
const MAX_SMALL_BODY: usize = MAX_LISTEN_SIZE;
/// `additional_info` keys holding one MBID, and lists of MBIDs.
const MBID_KEYS: [&str; 4] = ["release_mbid", "recording_mbid", "release_group_mbid", "track_mbid"];
const MBID_LIST_KEYS: [&str; 2] = ["artist_mbids", "work_mbids"];

/// A refusal in ListenBrainz's shape.
struct Refusal {
    status: StatusCode,
    message: String,
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal { status: StatusCode::BAD_REQUEST, message: message.into() }
}

fn error_answer(status: StatusCode, message: &str) -> Answer {
    super::json(status, &json!({"code": status.as_u16(), "error": message}))
}

/// Serves `/1/…`: counts the request against its budget, routes it, and adds the
/// `X-RateLimit-*` headers to the answer.
pub(super) async fn handle(app: &App, request: Request<Incoming>, peer: SocketAddr) -> Answer {
    let token = token_of(&request);
    let credential = token.as_deref().and_then(|token| app.scrobbling.credentials().by_token(token));
    let key = match &credential {
        Some(credential) => format!("credential:{}", credential.id),
        None => format!("address:{}", peer.ip()),
    };
    let budget = app.limiter.take(&key, app.scrobbling.clock().now_s().max(0) as u64);
    let mut answer = if budget.exceeded {
        error_answer(
            StatusCode::TOO_MANY_REQUESTS,
            "You have exceeded your rate limit. See the X-RateLimit-* response headers for more information on your current rate limit.",
        )
    } else {
        route(app, request, token.is_some(), credential)
            .await
            .unwrap_or_else(|refusal| error_answer(refusal.status, &refusal.message))
    };
    add_budget(&mut answer, budget);
    answer
}

async fn route(
    app: &App,
    request: Request<Incoming>,
    has_token: bool,
    credential: Option<CredentialRecord>,
) -> Result<Answer, Refusal> {
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let segments: Vec<&str> = path.split('/').skip(2).collect();
    let method = request.method().clone();
    let want = |expected: Method| {
        if method == expected {
            Ok(())
        } else {
            Err(Refusal {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: format!("{path} takes {expected} requests"),
            })
        }
    };
    match segments.as_slice() {
        ["submit-listens"] => {
            want(Method::POST)?;
            let credential = match (has_token, credential) {
                (_, Some(credential)) => credential,
                (false, None) => return Err(unauthorized("You need to provide an Authorization header.")),
                (true, None) => return Err(unauthorized("Invalid authorization token.")),
            };
            let return_msid =
                query_pairs(&request).iter().any(|(name, value)| name == "return_msid" && value == "true");
            let body = read_body(request, MAX_BODY).await.map_err(|err| match err {
                BodyError::TooLarge(cap) => Refusal {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    message: format!("Payload too large: a request may carry at most {cap} bytes."),
                },
                BodyError::Broken(message) => bad(format!("Cannot read the request body: {message}")),
            })?;
            submit(app, &credential, &body, return_msid).await
        }
        ["delete-listen"] => {
            want(Method::POST)?;
            let credential = authorised(has_token, credential)?;
            let body = small_body(request).await?;
            delete_listen(app, &credential, &body).await
        }
        ["feedback", "recording-feedback"] => {
            want(Method::POST)?;
            let credential = authorised(has_token, credential)?;
            let body = small_body(request).await?;
            recording_feedback(app, &credential, &body).await
        }
        ["feedback", "user", user, "get-feedback"] => {
            want(Method::GET)?;
            may_read(app, has_token, credential.as_ref())?;
            if !user.eq_ignore_ascii_case(&app.user) {
                return Err(Refusal { status: StatusCode::NOT_FOUND, message: format!("Cannot find user: {user}") });
            }
            get_feedback(app, &query_pairs(&request)).await
        }
        ["validate-token"] => {
            want(Method::GET)?;
            let legacy = query_pairs(&request).into_iter().find(|(name, _)| name == "token").map(|(_, value)| value);
            let credential = match (has_token, credential, legacy) {
                (_, Some(credential), _) => Some(credential),
                (false, None, None) => return Err(bad("You need to provide an Authorization token.")),
                (false, None, Some(token)) => app.scrobbling.credentials().by_token(&token),
                (true, None, _) => None,
            };
            Ok(super::json(
                StatusCode::OK,
                &match credential.filter(|credential| credential.api == Api::Listenbrainz) {
                    Some(_) => json!({"code": 200, "message": "Token valid.", "valid": true, "user_name": app.user}),
                    None => json!({"code": 200, "message": "Token invalid.", "valid": false}),
                },
            ))
        }
        ["user", user, what] => {
            want(Method::GET)?;
            may_read(app, has_token, credential.as_ref())?;
            if !user.eq_ignore_ascii_case(&app.user) {
                return Err(Refusal { status: StatusCode::NOT_FOUND, message: format!("Cannot find user: {user}") });
            }
            match *what {
                "listens" => listens(app, &query_pairs(&request)).await,
                "listen-count" => {
                    let library = app.library.clone();
                    let counts = blocking(move || library.counts()).await?;
                    Ok(super::json(StatusCode::OK, &json!({"payload": {"count": counts.listens}})))
                }
                "playing-now" => Ok(playing_now(app)),
                _ => Err(not_found(&path)),
            }
        }
        _ => Err(not_found(&path)),
    }
}

/// The credential of a request that must carry a token.
fn authorised(has_token: bool, credential: Option<CredentialRecord>) -> Result<CredentialRecord, Refusal> {
    match (has_token, credential) {
        (_, Some(credential)) => Ok(credential),
        (false, None) => Err(unauthorized("You need to provide an Authorization header.")),
        (true, None) => Err(unauthorized("Invalid authorization token.")),
    }
}

/// A small JSON body (a deletion, a feedback).
async fn small_body(request: Request<Incoming>) -> Result<hyper::body::Bytes, Refusal> {
    read_body(request, MAX_SMALL_BODY).await.map_err(|err| match err {
        BodyError::TooLarge(cap) => Refusal {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("Payload too large: a request may carry at most {cap} bytes."),
        },
        BodyError::Broken(message) => bad(format!("Cannot read the request body: {message}")),
    })
}

/// Reading the history needs a valid token, as submitting does, unless
/// `[http] public_reads` is set; a wrong token is refused either way (as ListenBrainz does).
fn may_read(app: &App, has_token: bool, credential: Option<&CredentialRecord>) -> Result<(), Refusal> {
    match (has_token, credential) {
        (_, Some(_)) => Ok(()),
        (true, None) => Err(unauthorized("Invalid authorization token.")),
        (false, None) if app.public_reads => Ok(()),
        (false, None) => Err(unauthorized(
            "You need to provide an Authorization header: reading listens needs a token (`musiquectl tokens create`), unless `public_reads = true` is set in the [http] config.",
        )),
    }
}

fn unauthorized(message: &str) -> Refusal {
    Refusal { status: StatusCode::UNAUTHORIZED, message: message.to_owned() }
}

fn not_found(path: &str) -> Refusal {
    Refusal { status: StatusCode::NOT_FOUND, message: format!("no ListenBrainz endpoint at {path}") }
}

/// The token of `Authorization: Token <token>`.
pub(super) fn token_of(request: &Request<Incoming>) -> Option<String> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") && !token.trim().is_empty()).then(|| token.trim().to_owned())
}

fn add_budget(answer: &mut Answer, budget: Budget) {
    let headers = answer.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", budget.limit as u64),
        ("x-ratelimit-remaining", budget.remaining as u64),
        ("x-ratelimit-reset-in", budget.reset_in),
        ("x-ratelimit-reset", budget.reset_at),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

/// Which kind of document was submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListenType {
    Single,
    PlayingNow,
    Import,
}

/// One listen, validated.
#[derive(Debug, PartialEq)]
struct Submitted {
    listened_at: Option<i64>,
    artist: String,
    track: String,
    release: Option<String>,
    duration_ms: Option<u64>,
    artist_names: Vec<String>,
    /// MBIDs and the submitting client, from `additional_info`.
    details: Option<Box<ListenDetails>>,
}

async fn submit(app: &App, credential: &CredentialRecord, body: &[u8], return_msid: bool) -> Result<Answer, Refusal> {
    let (listen_type, listens) = validate(body, app.scrobbling.clock().now_s())?;
    if listen_type == ListenType::PlayingNow {
        let listen = listens.into_iter().next().expect("validated: one listen");
        let msid = msid(&app.library.track_key(&listen.artist, &listen.track));
        app.scrobbling.now_playing(NowPlaying {
            source: credential.name.clone(),
            artist: listen.artist,
            track: listen.track,
            album: listen.release,
            duration_ms: listen.duration_ms,
            at_ms: 0,
        });
        let body = if return_msid { json!({"status": "ok", "recording_msid": msid}) } else { json!({"status": "ok"}) };
        return Ok(super::json(StatusCode::OK, &body));
    }
    let listens = listens
        .into_iter()
        .map(|listen| Listen {
            artist: listen.artist,
            track: listen.track,
            album: listen.release,
            artists: listen.artist_names,
            started_ms: listen
                .listened_at
                .expect("validated: single and import listens have listened_at")
                .saturating_mul(1000),
            duration_ms: listen.duration_ms,
            loved: None,
            details: listen.details,
        })
        .collect();
    store(app, credential, listens, listen_type == ListenType::Single).await?;
    Ok(super::json(StatusCode::OK, &json!({"status": "ok"})))
}

/// Stores listens durably: only then is the answer 200. `import` documents are bulk:
/// their listens are not announced one by one.
async fn store(app: &App, credential: &CredentialRecord, listens: Vec<Listen>, announce: bool) -> Result<(), Refusal> {
    match app.scrobbling.submit(&credential.name, listens, announce).await {
        Ok(_) => Ok(()),
        Err(Error::User(UserError::InvalidParams(message))) => Err(bad(message)),
        Err(err) => {
            tracing::error!(error = %err, "cannot store submitted listens");
            Err(Refusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "The listens could not be stored; nothing was recorded. Try again.".to_owned(),
            })
        }
    }
}

/// Checks a submitted document against every ListenBrainz rule.
fn validate(body: &[u8], now_s: i64) -> Result<(ListenType, Vec<Submitted>), Refusal> {
    let document: Value =
        serde_json::from_slice(body).map_err(|err| bad(format!("Cannot parse JSON document: {err}")))?;
    let Value::Object(mut document) = document else {
        return Err(bad("Invalid JSON document submitted: it must be an object."));
    };
    let listen_type = match document.get("listen_type").and_then(Value::as_str) {
        Some("single") => ListenType::Single,
        Some("playing_now") => ListenType::PlayingNow,
        Some("import") => ListenType::Import,
        _ => return Err(bad("JSON document requires a valid listen_type key.")),
    };
    let Some(Value::Array(payload)) = document.remove("payload") else {
        return Err(bad("JSON document requires a payload list."));
    };
    if payload.is_empty() {
        return Err(bad("JSON document does not contain any listens in payload."));
    }
    if listen_type != ListenType::Import && payload.len() > 1 {
        return Err(bad(
            "JSON document contains more than listen for a single/playing_now. It should contain only one.",
        ));
    }
    if payload.len() > MAX_LISTENS_PER_REQUEST {
        return Err(bad(format!(
            "Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} listens at once."
        )));
    }
    let mut listens = Vec::with_capacity(payload.len());
    for (position, listen) in payload.into_iter().enumerate() {
        let in_listen = |refusal: Refusal| {
            if listen_type == ListenType::Import {
                bad(format!("{} (listen {position} of the payload)", refusal.message))
            } else {
                refusal
            }
        };
        listens.push(validate_listen(listen, listen_type, now_s).map_err(in_listen)?);
    }
    Ok((listen_type, listens))
}

fn validate_listen(listen: Value, listen_type: ListenType, now_s: i64) -> Result<Submitted, Refusal> {
    let compact = serde_json::to_string(&listen).expect("JSON values serialise");
    if compact.len() > MAX_LISTEN_SIZE {
        return Err(bad(format!(
            "JSON document is too large. In aggregate, listens may not exceed {MAX_LISTEN_SIZE} characters."
        )));
    }
    if compact.contains("\\u0000") {
        return Err(bad("JSON document must not contain a NUL character."));
    }
    let Value::Object(mut listen) = listen else {
        return Err(bad("Each listen must be a JSON object."));
    };
    let listened_at = match listen_type {
        ListenType::PlayingNow => {
            if listen.contains_key("listened_at") {
                return Err(bad("JSON document must not contain listened_at while submitting playing_now."));
            }
            if listen.keys().any(|key| key != "track_metadata") {
                return Err(bad("JSON document may only contain track_metadata as top level key"));
            }
            None
        }
        ListenType::Single | ListenType::Import => {
            if listen.keys().any(|key| key != "listened_at" && key != "track_metadata") {
                return Err(bad("JSON document may only contain listened_at and track_metadata top level keys"));
            }
            let at = match listen.get("listened_at") {
                None => return Err(bad("JSON document must contain the key listened_at at the top level.")),
                Some(Value::Number(number)) if number.is_i64() => number.as_i64().expect("checked"),
                Some(_) => return Err(bad("JSON document must contain an int value for listened_at.")),
            };
            if at < LISTEN_MINIMUM_TS {
                return Err(bad(format!(
                    "Value for key listened_at is too low. listened_at timestamp should be greater than {LISTEN_MINIMUM_TS} (2002-10-01 00:00:00 UTC)."
                )));
            }
            if at > now_s + MAX_FUTURE_S {
                return Err(bad(
                    "Value for key listened_at is too high. listened_at may be at most one hour ahead of the server's clock.",
                ));
            }
            Some(at)
        }
    };
    let Some(Value::Object(mut metadata)) = listen.remove("track_metadata") else {
        return Err(bad("JSON document must contain the key track_metadata at the top level, as an object."));
    };
    let artist = required_text(&metadata, "artist_name")?;
    let track = required_text(&metadata, "track_name")?;
    let release = match metadata.get("release_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(release)) => Some(release.trim().to_owned()).filter(|release| !release.is_empty()),
        Some(_) => return Err(bad("track_metadata.release_name must be a single string.")),
    };
    let (duration_ms, artist_names, details) = match metadata.remove("additional_info") {
        None | Some(Value::Null) => (None, Vec::new(), None),
        Some(Value::Object(info)) => {
            let (duration_ms, artist_names) = additional_info(&info)?;
            (duration_ms, artist_names, details_of(&info))
        }
        Some(_) => return Err(bad("track_metadata.additional_info must be a JSON object.")),
    };
    Ok(Submitted { listened_at, artist, track, release, duration_ms, artist_names, details })
}

fn required_text(metadata: &Map<String, Value>, key: &str) -> Result<String, Refusal> {
    match metadata.get(key) {
        None | Some(Value::Null) => Err(bad(format!("JSON document does not contain required track_metadata.{key}."))),
        Some(Value::String(text)) if text.trim().is_empty() => {
            Err(bad(format!("track_metadata.{key} must not be empty.")))
        }
        Some(Value::String(text)) => Ok(text.trim().to_owned()),
        Some(_) => Err(bad(format!("track_metadata.{key} must be a single string."))),
    }
}

/// Checks `additional_info`; returns the duration and the separate artist names.
fn additional_info(info: &Map<String, Value>) -> Result<(Option<u64>, Vec<String>), Refusal> {
    if let Some(tags) = info.get("tags") {
        let Value::Array(tags) = tags else {
            return Err(bad("additional_info.tags must be a list of strings."));
        };
        if tags.len() > MAX_TAGS_PER_LISTEN {
            return Err(bad(format!("JSON document may not contain more than {MAX_TAGS_PER_LISTEN} tags.")));
        }
        for tag in tags {
            match tag {
                Value::String(tag) if tag.chars().count() > MAX_TAG_SIZE => {
                    return Err(bad(format!(
                        "JSON document may not contain tags longer than {MAX_TAG_SIZE} characters."
                    )));
                }
                Value::String(_) => {}
                _ => return Err(bad("additional_info.tags must be a list of strings.")),
            }
        }
    }
    if info.contains_key("duration") && info.contains_key("duration_ms") {
        return Err(bad("JSON document should not contain both duration and duration_ms."));
    }
    // As ListenBrainz has it: a positive whole number, at most 24 days in its unit.
    let duration = |key: &str, max: u64| -> Result<Option<u64>, Refusal> {
        match info.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => match number.as_u64() {
                Some(0) | None => Err(bad(format!("Value for {key} is invalid, should be a positive integer."))),
                Some(value) if value > max => {
                    Err(bad(format!("Value for {key} is too large, max permitted value is {max}")))
                }
                Some(value) => Ok(Some(value)),
            },
            Some(_) => Err(bad(format!("Value for {key} is invalid, should be a positive integer."))),
        }
    };
    let duration_ms = match duration("duration_ms", MAX_DURATION_MS)? {
        Some(ms) => Some(ms),
        None => duration("duration", MAX_DURATION_S)?.map(|seconds| seconds * 1000),
    };
    for key in MBID_KEYS {
        match info.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(mbid)) if is_uuid(mbid) => {}
            Some(_) => return Err(bad(format!("additional_info.{key} must be a valid MBID (a UUID)."))),
        }
    }
    for key in MBID_LIST_KEYS {
        match info.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(mbids)) if mbids.iter().all(|mbid| mbid.as_str().is_some_and(is_uuid)) => {}
            Some(_) => return Err(bad(format!("additional_info.{key} must be a list of valid MBIDs (UUIDs)."))),
        }
    }
    let artist_names = match info.get("artist_names") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(names)) => {
            let names: Option<Vec<String>> = names
                .iter()
                .map(|name| name.as_str().map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned))
                .collect();
            names.ok_or_else(|| bad("additional_info.artist_names must be a list of non-empty strings."))?
        }
        Some(_) => return Err(bad("additional_info.artist_names must be a list of non-empty strings.")),
    };
    Ok((duration_ms, artist_names))
}

/// What a listen keeps of a checked `additional_info`: MBIDs and the submitting client.
fn details_of(info: &Map<String, Value>) -> Option<Box<ListenDetails>> {
    let one = |key: &str| info.get(key).and_then(Value::as_str).and_then(mbid);
    let many = |key: &str| -> Vec<String> {
        info.get(key)
            .and_then(Value::as_array)
            .map_or_else(Vec::new, |values| values.iter().filter_map(Value::as_str).filter_map(mbid).collect())
    };
    let text = |key: &str| {
        info.get(key).and_then(Value::as_str).map(str::trim).filter(|value| !value.is_empty()).map(str::to_owned)
    };
    let details = ListenDetails {
        recording_mbid: one("recording_mbid"),
        release_mbid: one("release_mbid"),
        release_group_mbid: one("release_group_mbid"),
        track_mbid: one("track_mbid"),
        artist_mbids: many("artist_mbids"),
        work_mbids: many("work_mbids"),
        submission_client: text("submission_client"),
        submission_client_version: text("submission_client_version"),
        media_player: text("media_player"),
        music_service: text("music_service"),
        origin_url: text("origin_url"),
        ..ListenDetails::default()
    };
    (!details.is_empty()).then(|| Box::new(details))
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// A track's `recording_msid`: a stable UUID-shaped hash of its canonical key.
fn msid(track_key: &str) -> String {
    let hex = crate::scrobbling::credentials::hex(&sha256(track_key.as_bytes())[..16]);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The `recording_msid` of a stored listen: its track's (the record keeps the
/// names its track key is made of).
fn listen_msid(record: &ListenRecord) -> String {
    msid(&scoped_key(&Name::new(&record.artist), &Name::new(&record.track)))
}

/// `POST /1/delete-listen`: `{"listened_at", "recording_msid"}` names one listen,
/// as read back (or as submitted, when another source's report of the same play
/// was kept instead). It is deleted with everything counted from it.
async fn delete_listen(app: &App, credential: &CredentialRecord, body: &[u8]) -> Result<Answer, Refusal> {
    let document: Value =
        serde_json::from_slice(body).map_err(|err| bad(format!("Cannot parse JSON document: {err}")))?;
    let listened_at = match document.get("listened_at") {
        None => return Err(bad("Listen timestamp missing.")),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
            .ok_or_else(|| bad(format!("{value}: Listen timestamp invalid.")))?,
    };
    let msid = match document.get("recording_msid") {
        None => return Err(bad("Recording MSID missing.")),
        Some(Value::String(msid)) if is_uuid(msid) => msid.to_ascii_lowercase(),
        Some(value) => return Err(bad(format!("{value}: Recording MSID format invalid."))),
    };
    let library = app.library.clone();
    let key = match u64::try_from(listened_at) {
        Ok(start_s) => blocking(move || library.listens_reported_at(start_s)).await?,
        Err(_) => Vec::new(),
    }
    .into_iter()
    .find(|listen| listen_msid(&listen.record) == msid)
    .map(|listen| listen.key);
    let not_found = || Refusal {
        status: StatusCode::NOT_FOUND,
        message: format!("No listen at {listened_at} with recording_msid {msid}."),
    };
    let Some(key) = key else { return Err(not_found()) };
    match app.library.delete_listen(key).await {
        Ok(true) => {
            tracing::info!(client = %credential.name, listen = %key, "a scrobbling client deleted a listen");
            Ok(super::json(StatusCode::OK, &json!({"status": "ok"})))
        }
        Ok(false) => Err(not_found()),
        Err(err) => {
            tracing::error!(error = %err, "cannot delete a listen");
            Err(Refusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "We couldn't delete the listen. Please try again later.".to_owned(),
            })
        }
    }
}

/// `POST /1/feedback/recording-feedback`: `score` 1 loves, -1 hates, 0 takes back,
/// a track by `recording_msid` (stored, or playing now) or a recording by `recording_mbid`.
async fn recording_feedback(app: &App, credential: &CredentialRecord, body: &[u8]) -> Result<Answer, Refusal> {
    let document: Value =
        serde_json::from_slice(body).map_err(|err| bad(format!("Cannot parse JSON document: {err}")))?;
    let Value::Object(document) = document else {
        return Err(bad("Invalid JSON document submitted: it must be an object."));
    };
    if !(document.contains_key("recording_msid") || document.contains_key("recording_mbid"))
        || !document.contains_key("score")
    {
        return Err(bad(
            "JSON document must contain either recording_msid or recording_mbid, and score top level keys",
        ));
    }
    if document.keys().any(|key| !matches!(key.as_str(), "recording_msid" | "recording_mbid" | "score")) {
        return Err(bad("JSON document may only contain recording_msid, recording_mbid and score top level keys"));
    }
    let feedback = match document["score"].as_i64() {
        Some(1) => Feedback::Love,
        Some(-1) => Feedback::Hate,
        Some(0) => Feedback::Clear,
        _ => return Err(bad("Invalid JSON document submitted: Score can have a value of 1, 0 or -1.")),
    };
    let id = |key: &str| -> Result<Option<String>, Refusal> {
        match document.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(id)) if is_uuid(id) => Ok(Some(id.to_ascii_lowercase())),
            Some(value) => Err(bad(format!("Invalid JSON document submitted: {key} {value} is not a valid UUID."))),
        }
    };
    let (msid_given, mbid) = (id("recording_msid")?, id("recording_mbid")?);
    let library = app.library.clone();
    let track_key = match &msid_given {
        None => None,
        Some(wanted) => {
            let playing = app.scrobbling.playing().map(|playing| library.track_key(&playing.artist, &playing.track));
            match playing.filter(|key| msid(key) == *wanted) {
                Some(key) => Some(key),
                None => {
                    let (library, wanted) = (library.clone(), wanted.clone());
                    blocking(move || library.find_track_key(|key| msid(key) == wanted)).await?
                }
            }
        }
    };
    let subject = match (track_key, mbid, msid_given) {
        (Some(key), _, _) => FeedbackSubject::Track(key),
        (None, Some(mbid), _) => FeedbackSubject::Recording(mbid),
        (None, None, msid) => {
            return Err(Refusal {
                status: StatusCode::NOT_FOUND,
                message: format!("No track with recording_msid {} is known.", msid.unwrap_or_default()),
            });
        }
    };
    match library.set_feedback(subject, feedback, &credential.name).await {
        Ok(()) => Ok(super::json(StatusCode::OK, &json!({"status": "ok"}))),
        Err(err) => {
            tracing::error!(error = %err, "cannot store feedback");
            Err(Refusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "The feedback could not be stored; nothing was recorded. Try again.".to_owned(),
            })
        }
    }
}

/// `GET /1/feedback/user/{user}/get-feedback`: loves and hates, newest first;
/// `score` (1 or -1) filters, `count` and `offset` page, `metadata=true` names the tracks.
async fn get_feedback(app: &App, query: &[(String, String)]) -> Result<Answer, Refusal> {
    let number = |name: &str| -> Result<Option<i64>, Refusal> {
        match query.iter().rev().find(|(key, _)| key == name) {
            None => Ok(None),
            Some((_, value)) => value
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| bad(format!("{name} must be an integer, got {value:?}"))),
        }
    };
    let score = number("score")?.filter(|score| *score != 0);
    if score.is_some_and(|score| score != 1 && score != -1) {
        return Err(bad("Score can have a value of 1 or -1."));
    }
    let non_negative = |name: &str, default: usize| -> Result<usize, Refusal> {
        match number(name)? {
            None => Ok(default),
            Some(value) => {
                usize::try_from(value).map_err(|_| bad(format!("'{name}' should be a non-negative integer")))
            }
        }
    };
    let count = non_negative("count", DEFAULT_ITEMS_PER_GET)?.min(MAX_ITEMS_PER_GET);
    let offset = non_negative("offset", 0)?;
    let metadata = query.iter().any(|(key, value)| key == "metadata" && value.eq_ignore_ascii_case("true"));
    let library = app.library.clone();
    let (total, page) = blocking(move || {
        let entries = library.feedback()?;
        let total = entries.len();
        let mut page = Vec::new();
        for entry in entries
            .into_iter()
            .filter(|entry| score.is_none_or(|score| i64::from(entry.score) == score))
            .skip(offset)
            .take(count)
        {
            let names = match (&entry.subject, metadata) {
                (FeedbackSubject::Track(key), true) => library.track_by_key(key)?,
                _ => None,
            };
            page.push((entry, names));
        }
        Ok((total, page))
    })
    .await?;
    let feedback: Vec<Value> = page
        .into_iter()
        .map(|(entry, track)| {
            let (msid, mbid) = match &entry.subject {
                FeedbackSubject::Track(key) => (Some(msid(key)), None),
                FeedbackSubject::Recording(mbid) => (None, Some(mbid.clone())),
            };
            let track_metadata = track.map(|track| {
                json!({"artist_name": track.credit, "track_name": track.raw_title, "additional_info": {"recording_msid": msid}})
            });
            json!({
                "created": entry.at_ms.div_euclid(1000),
                "recording_mbid": mbid,
                "recording_msid": msid,
                "score": entry.score,
                "track_metadata": track_metadata,
                "user_id": app.user,
            })
        })
        .collect();
    Ok(super::json(
        StatusCode::OK,
        &json!({"count": feedback.len(), "feedback": feedback, "offset": offset, "total_count": total}),
    ))
}

/// `GET /1/user/{user}/listens`.
async fn listens(app: &App, query: &[(String, String)]) -> Result<Answer, Refusal> {
    let number = |name: &str| -> Result<Option<i64>, Refusal> {
        match query.iter().rev().find(|(key, _)| key == name) {
            None => Ok(None),
            Some((_, value)) => value
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| bad(format!("{name} must be an integer, got {value:?}"))),
        }
    };
    let (min_ts, max_ts) = (number("min_ts")?, number("max_ts")?);
    let count = match number("count")? {
        None => DEFAULT_ITEMS_PER_GET,
        Some(count) if count < 0 => return Err(bad("count must not be negative")),
        Some(count) => (count as usize).min(MAX_ITEMS_PER_GET),
    };
    if let (Some(min), Some(max)) = (min_ts, max_ts)
        && max <= min
    {
        return Err(bad("max_ts should be greater than min_ts"));
    }
    let library = app.library.clone();
    let (listens, bounds) = blocking(move || {
        let after = min_ts.map_or(0, |min| (min + 1).max(0) as u64);
        let before = max_ts.map_or(u64::MAX, |max| max.max(0) as u64);
        let listens = if min_ts.is_some() && max_ts.is_none() {
            let mut listens = library.listens_oldest_first(after, before, count)?;
            listens.reverse();
            listens
        } else {
            library.listens(Some(after as i64), max_ts, count, None)?
        };
        Ok((listens, library.listen_bounds()?))
    })
    .await?;
    let (oldest, latest) = bounds.unwrap_or((0, 0));
    let user = &app.user;
    let listens: Vec<Value> = listens
        .into_iter()
        .map(|listen| {
            let record = &listen.record;
            let artist = record.credit.clone().unwrap_or_else(|| record.artist.clone());
            let track = record.raw_title.clone().unwrap_or_else(|| record.track.clone());
            let msid = listen_msid(record);
            let mut info = Map::new();
            info.insert("recording_msid".into(), json!(msid));
            if let Some(duration) = record.duration_ms {
                info.insert("duration_ms".into(), json!(duration));
            }
            if !record.featured.is_empty() {
                let names: Vec<&str> =
                    std::iter::once(record.artist.as_str()).chain(record.featured.iter().map(String::as_str)).collect();
                info.insert("artist_names".into(), json!(names));
            }
            let sources: Vec<&str> = record.sources.iter().map(|source| source.source.as_str()).collect();
            info.insert("musique_sources".into(), json!(sources));
            let mut mapping = Value::Null;
            if let Some(details) = &record.details {
                reported_info(details, &mut info);
                if let Some(recording) = &details.recording_mbid {
                    mapping = json!({
                        "recording_mbid": recording,
                        "release_mbid": details.release_mbid,
                        "artist_mbids": details.artist_mbids,
                    });
                }
            }
            let mut metadata = Map::new();
            metadata.insert("artist_name".into(), json!(artist));
            metadata.insert("track_name".into(), json!(track));
            if let Some(album) = &record.album {
                metadata.insert("release_name".into(), json!(album));
            }
            metadata.insert("additional_info".into(), Value::Object(info));
            if !mapping.is_null() {
                metadata.insert("mbid_mapping".into(), mapping);
            }
            json!({
                "inserted_at": listen.key.start_s,
                "listened_at": listen.key.start_s,
                "recording_msid": msid,
                "track_metadata": metadata,
                "user_name": user,
            })
        })
        .collect();
    Ok(super::json(
        StatusCode::OK,
        &json!({"payload": {
            "count": listens.len(),
            "latest_listen_ts": latest,
            "listens": listens,
            "oldest_listen_ts": oldest,
            "user_id": user,
        }}),
    ))
}

/// Adds what a listen's reports carry to its `additional_info`, under ListenBrainz's keys.
fn reported_info(details: &ListenDetails, info: &mut Map<String, Value>) {
    let texts = [
        ("recording_mbid", &details.recording_mbid),
        ("release_mbid", &details.release_mbid),
        ("release_group_mbid", &details.release_group_mbid),
        ("track_mbid", &details.track_mbid),
        ("submission_client", &details.submission_client),
        ("submission_client_version", &details.submission_client_version),
        ("media_player", &details.media_player),
        ("music_service", &details.music_service),
        ("origin_url", &details.origin_url),
    ];
    for (key, value) in texts {
        if let Some(value) = value {
            info.insert(key.into(), json!(value));
        }
    }
    for (key, values) in [("artist_mbids", &details.artist_mbids), ("work_mbids", &details.work_mbids)] {
        if !values.is_empty() {
            info.insert(key.into(), json!(values));
        }
    }
    if let Some(id) = details.spotify_track_uri.as_deref().and_then(|uri| uri.strip_prefix("spotify:track:")) {
        info.insert("spotify_id".into(), json!(format!("https://open.spotify.com/track/{id}")));
    }
}

/// `GET /1/user/{user}/playing-now`.
fn playing_now(app: &App) -> Answer {
    let listens: Vec<Value> = app
        .scrobbling
        .playing()
        .map(|playing| {
            let mut metadata = Map::new();
            metadata.insert("artist_name".into(), json!(playing.artist));
            metadata.insert("track_name".into(), json!(playing.track));
            if let Some(album) = &playing.album {
                metadata.insert("release_name".into(), json!(album));
            }
            let mut info = Map::new();
            if let Some(duration) = playing.duration_ms {
                info.insert("duration_ms".into(), json!(duration));
            }
            info.insert("musique_sources".into(), json!([playing.source]));
            metadata.insert("additional_info".into(), Value::Object(info));
            json!({"playing_now": true, "track_metadata": metadata, "user_name": app.user})
        })
        .into_iter()
        .collect();
    super::json(
        StatusCode::OK,
        &json!({"payload": {"count": listens.len(), "listens": listens, "playing_now": true, "user_id": app.user}}),
    )
}

/// Reads the store off the async workers; a failure is a 503.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T, Refusal> {
    super::read_store(work).await.map_err(|()| Refusal {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "The store cannot be read right now.".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn check(document: Value) -> Result<(ListenType, Vec<Submitted>), String> {
        validate(document.to_string().as_bytes(), NOW).map_err(|refusal| refusal.message)
    }

    fn listen(metadata: Value) -> Value {
        json!({"listened_at": NOW - 60, "track_metadata": metadata})
    }

    fn single(listen: Value) -> Value {
        json!({"listen_type": "single", "payload": [listen]})
    }

    fn refused(document: Value, expected: &str) {
        let message = check(document).expect_err("refused");
        assert!(message.contains(expected), "{message:?} should contain {expected:?}");
    }

    #[test]
    fn the_sample_documents_pass() {
        let sample: Value = serde_json::from_str(include_str!("../../tests/data/listenbrainz-submit.json")).unwrap();
        let (kind, listens) =
            validate(sample["request"]["body"].to_string().as_bytes(), NOW).unwrap_or_else(|r| panic!("{}", r.message));
        assert_eq!(kind, ListenType::Single);
        assert_eq!(listens[0].artist, "Marsh Lanterns");
        assert_eq!(listens[0].duration_ms, Some(247_500));
        let import = &sample["cases"][0]["request"]["body"];
        let (kind, listens) = validate(import.to_string().as_bytes(), NOW).unwrap_or_else(|r| panic!("{}", r.message));
        assert_eq!((kind, listens.len()), (ListenType::Import, 2));
        let playing = &sample["cases"][1]["request"]["body"];
        let (kind, listens) = validate(playing.to_string().as_bytes(), NOW).unwrap_or_else(|r| panic!("{}", r.message));
        assert_eq!((kind, listens[0].listened_at), (ListenType::PlayingNow, None));
    }

    #[test]
    fn document_rules() {
        assert!(validate(b"{not json", NOW).unwrap_err().message.starts_with("Cannot parse JSON document"));
        refused(json!([1]), "must be an object");
        refused(json!({"payload": []}), "requires a valid listen_type key");
        refused(json!({"listen_type": "scrobble", "payload": []}), "requires a valid listen_type key");
        refused(json!({"listen_type": "single"}), "requires a payload list");
        refused(json!({"listen_type": "import", "payload": []}), "does not contain any listens");
        let one = listen(json!({"artist_name": "A", "track_name": "T"}));
        refused(json!({"listen_type": "single", "payload": [one, one]}), "more than listen for a single/playing_now");
        refused(json!({"listen_type": "playing_now", "payload": [one, one]}), "more than listen");
        let many: Vec<Value> = (0..1001).map(|_| one.clone()).collect();
        refused(json!({"listen_type": "import", "payload": many}), "more than 1000 listens");
        let thousand: Vec<Value> = (0..1000).map(|_| one.clone()).collect();
        assert_eq!(check(json!({"listen_type": "import", "payload": thousand})).unwrap().1.len(), 1000);
    }

    #[test]
    fn listen_rules() {
        let ok = json!({"artist_name": "A", "track_name": "T"});
        refused(single(json!("x")), "must be a JSON object");
        refused(single(json!({"track_metadata": ok})), "must contain the key listened_at");
        refused(single(json!({"listened_at": "1700000000", "track_metadata": ok})), "int value for listened_at");
        refused(single(json!({"listened_at": 1.5e9, "track_metadata": ok})), "int value for listened_at");
        refused(single(json!({"listened_at": 1_033_430_399, "track_metadata": ok})), "too low");
        assert!(check(single(json!({"listened_at": 1_033_430_400, "track_metadata": ok}))).is_ok());
        refused(single(json!({"listened_at": NOW + 3601, "track_metadata": ok})), "too high");
        assert!(check(single(json!({"listened_at": NOW + 3600, "track_metadata": ok}))).is_ok());
        refused(
            single(json!({"listened_at": NOW, "track_metadata": ok, "extra": 1})),
            "only contain listened_at and track_metadata",
        );
        refused(
            json!({"listen_type": "playing_now", "payload": [{"listened_at": NOW, "track_metadata": ok}]}),
            "must not contain listened_at",
        );
        refused(
            json!({"listen_type": "playing_now", "payload": [{"track_metadata": ok, "x": 1}]}),
            "only contain track_metadata",
        );
        refused(single(json!({"listened_at": NOW})), "key track_metadata");
        refused(single(listen(json!({"track_name": "T"}))), "required track_metadata.artist_name");
        refused(single(listen(json!({"artist_name": "A"}))), "required track_metadata.track_name");
        refused(single(listen(json!({"artist_name": " ", "track_name": "T"}))), "artist_name must not be empty");
        refused(
            single(listen(json!({"artist_name": ["A", "B"], "track_name": "T"}))),
            "artist_name must be a single string",
        );
        refused(single(listen(json!({"artist_name": "A\u{0}", "track_name": "T"}))), "NUL");
        refused(single(listen(json!({"artist_name": "A", "track_name": "T", "release_name": 3}))), "release_name");
        let huge = "x".repeat(MAX_LISTEN_SIZE);
        refused(single(listen(json!({"artist_name": "A", "track_name": huge}))), "too large");
    }

    #[test]
    fn additional_info_rules() {
        let with =
            |info: Value| single(listen(json!({"artist_name": "A", "track_name": "T", "additional_info": info})));
        refused(with(json!([])), "additional_info must be a JSON object");
        let tags: Vec<String> = (0..51).map(|n| n.to_string()).collect();
        refused(with(json!({"tags": tags})), "more than 50 tags");
        refused(with(json!({"tags": ["x".repeat(65)]})), "longer than 64 characters");
        assert!(check(with(json!({"tags": ["é".repeat(64)]}))).is_ok(), "characters, not bytes");
        refused(with(json!({"tags": "rock"})), "list of strings");
        refused(with(json!({"duration": 200, "duration_ms": 200_000})), "both duration and duration_ms");
        refused(with(json!({"duration": MAX_DURATION_S + 1})), "duration is too large, max permitted value is 2073600");
        refused(with(json!({"duration_ms": 2_073_600_001u64})), "max permitted value is 2073600000");
        refused(with(json!({"duration_ms": -5})), "Value for duration_ms is invalid, should be a positive integer.");
        refused(with(json!({"duration_ms": 0})), "should be a positive integer");
        refused(with(json!({"duration": 0})), "should be a positive integer");
        refused(with(json!({"duration_ms": 200.5})), "should be a positive integer");
        refused(with(json!({"duration_ms": "200000"})), "should be a positive integer");
        let seconds = check(with(json!({"duration": 200}))).unwrap().1;
        assert_eq!(seconds[0].duration_ms, Some(200_000));
        let longest = check(with(json!({"duration": MAX_DURATION_S}))).unwrap().1;
        assert_eq!(longest[0].duration_ms, Some(2_073_600_000), "24 days");
        let longest = check(with(json!({"duration_ms": 2_073_600_000u64}))).unwrap().1;
        assert_eq!(longest[0].duration_ms, Some(2_073_600_000));
        refused(with(json!({"recording_mbid": "not-a-uuid"})), "recording_mbid must be a valid MBID");
        refused(with(json!({"artist_mbids": ["db92a151-1ac2-438b-bc43-b82e149ddd5"]})), "artist_mbids");
        assert!(check(with(json!({"artist_mbids": ["db92a151-1ac2-438b-bc43-b82e149ddd50"]}))).is_ok());
        refused(with(json!({"artist_names": ["A", ""]})), "artist_names");
        let names = check(with(json!({"artist_names": ["A", "B"], "unknown_key": {"kept": true}}))).unwrap().1;
        assert_eq!(names[0].artist_names, ["A", "B"]);
    }

    #[test]
    fn import_errors_name_the_listen() {
        let good = listen(json!({"artist_name": "A", "track_name": "T"}));
        let broken = listen(json!({"artist_name": "A"}));
        refused(json!({"listen_type": "import", "payload": [good, broken]}), "(listen 1 of the payload)");
    }

    #[test]
    fn msids_are_stable_uuids() {
        let key = |artist: &str, track: &str| scoped_key(&Name::new(artist), &Name::new(track));
        let id = msid(&key("Beyoncé", "Halo"));
        assert!(is_uuid(&id), "{id}");
        assert_eq!(id, msid(&key("BEYONCE", "halo")));
        assert_ne!(id, msid(&key("Beyoncé", "Single Ladies")));
    }
}
