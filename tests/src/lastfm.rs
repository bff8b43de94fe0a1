//! A fake Last.fm API on loopback, serving the shapes of the samples in
//! `adapters/lastfm/tests/data/`, programmable per test:
//! users and their scrobbles, the now-playing entry, loved tracks, album and
//! artist info, sign-in tokens, and faults injected into the next requests
//! (error codes, HTTP 500/503, slow, hanging, truncated and malformed bodies).
//!
//! It is a small HTTP/1.1 server on std threads (one per connection,
//! `Connection: close`), so a fault can cut or stall a response at will.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::http;

/// The API key the fake accepts.
pub const API_KEY: &str = "test-api-key-3f9a";
/// The shared secret the fake signs with.
pub const SHARED_SECRET: &str = "test-shared-secret-77c1";

/// One scrobble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrobble {
    pub artist: String,
    pub track: String,
    pub album: String,
    pub uts: i64,
}

/// What goes wrong with one response.
#[derive(Debug, Clone)]
pub enum Fault {
    /// A Last.fm error body with this HTTP status and code.
    Error { status: u16, code: i64 },
    /// This status with an HTML body.
    Html(u16),
    /// The right body, cut in the middle.
    Truncated,
    /// A body that is not JSON at all.
    Malformed,
    /// A body of 9 MB.
    Huge,
    /// The right answer, after a delay.
    Slow(Duration),
    /// No answer (the connection stays open, silent).
    Hang,
    /// An empty track list while the paging says there is more.
    EmptyPage,
    /// No fault: the right answer (to space faults out in [`State::faults`]).
    Pass,
}

/// The fake's state; tests change it through [`FakeLastfm::with`].
#[derive(Debug, Default)]
pub struct State {
    /// Scrobbles per user (any order).
    pub scrobbles: HashMap<String, Vec<Scrobble>>,
    /// What each user plays now.
    pub now_playing: HashMap<String, (String, String)>,
    /// Loved (artist, track) pairs.
    pub loved: HashSet<(String, String)>,
    /// Users whose history is private (error 17).
    pub private: HashSet<String>,
    /// Faults for the next `user.getRecentTracks` requests, in order.
    pub faults: VecDeque<Fault>,
    /// A fault for every request from now on (until cleared).
    pub always: Option<Fault>,
    /// Scrobbles that arrive once this many history pages were served.
    pub arriving: Option<(usize, String, Vec<Scrobble>)>,
    /// Album info bodies by (artist, album).
    pub albums: HashMap<(String, String), Value>,
    /// Tokens handed out, and how many `auth.getSession` calls each still refuses (error 14).
    pub tokens: HashMap<String, u32>,
    /// Session keys and their users.
    pub sessions: HashMap<String, String>,
    /// The user a token signs in as.
    pub login_user: String,
    /// Every request: method and parameters.
    pub requests: Vec<BTreeMap<String, String>>,
    /// History pages served successfully.
    pub pages_served: usize,
}

/// A running fake; stops serving when dropped (threads in `Hang` stay asleep).
pub struct FakeLastfm {
    /// Where it listens, `http://127.0.0.1:<port>/2.0/`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeLastfm {
    /// Starts the fake on a free loopback port.
    pub fn start() -> FakeLastfm {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake Last.fm");
        let url = format!("http://{}/2.0/", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State { login_user: "rj".into(), ..State::default() }));
        let serving = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = serving.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeLastfm { url, state }
    }

    /// Changes the state.
    pub fn with<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        change(&mut self.state.lock().expect("fake state"))
    }

    /// Adds `count` scrobbles for `user`, one every 3 minutes ending at `newest`
    /// (the first few share a second, across a page boundary of 200).
    pub fn add_history(&self, user: &str, count: usize, newest: i64) -> Vec<Scrobble> {
        let scrobbles: Vec<Scrobble> = (0..count)
            .map(|i| Scrobble {
                artist: format!("Artist {}", i % 97),
                track: format!("Track {i}"),
                album: format!("Album {}", i % 13),
                // Scrobbles 198..=202 share one second: a page boundary falls inside it.
                uts: if (198..=202).contains(&i) { newest - 198 * 180 } else { newest - i as i64 * 180 },
            })
            .collect();
        self.with(|state| state.scrobbles.entry(user.to_owned()).or_default().extend(scrobbles.iter().cloned()));
        scrobbles
    }

    /// How many requests of a method were made.
    pub fn count(&self, method: &str) -> usize {
        self.with(|state| {
            state.requests.iter().filter(|request| request.get("method").map(String::as_str) == Some(method)).count()
        })
    }

    /// How many requests of a method had `param` set to `value`.
    pub fn count_with(&self, method: &str, param: &str, value: &str) -> usize {
        self.with(|state| {
            state
                .requests
                .iter()
                .filter(|request| {
                    request.get("method").map(String::as_str) == Some(method)
                        && request.get(param).map(String::as_str) == Some(value)
                })
                .count()
        })
    }

    /// The `[adapters.lastfm]` config for a daemon using this fake.
    /// `extra` adds keys to `[adapters.lastfm]`; `requests_per_second` there replaces the default of 500.
    pub fn config(&self, extra: &str) -> String {
        let rate = if extra.contains("requests_per_second") { "" } else { "requests_per_second = 500\n" };
        format!(
            "[import]\nretry_base_ms = 10\nretry_max_ms = 200\n\n[adapters.lastfm]\napi_key = \"{API_KEY}\"\n\
             shared_secret = \"{SHARED_SECRET}\"\nuser = \"rj\"\napi_url = \"{}\"\nauth_url = \"http://127.0.0.1:9/auth/\"\n\
             {rate}poll_interval = 0.2\ntimeout = \"1s\"\n{extra}",
            self.url
        )
    }
}

/// The `api_sig` of parameters, as Last.fm computes it: the Last.fm adapter's one implementation
/// (its own tests check it against Last.fm's published vectors).
pub fn api_sig(params: &BTreeMap<String, String>, secret: &str) -> String {
    let pairs: Vec<(&str, &str)> = params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    musique_lastfm::client::api_sig(&pairs, secret)
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let Some(request) = http::read_request(&stream) else { return };
    let mut params = request.query();
    if request.method == "POST" {
        params.extend(http::parse_form(&String::from_utf8_lossy(&request.body)));
    }
    let (status, body, fault) = answer(state, &request.method, &params);
    respond(stream, status, body, fault);
}

fn error(status: u16, code: i64, message: &str) -> (u16, Value) {
    (status, json!({"error": code, "message": message}))
}

/// The answer to a request: status, JSON body, and a fault to apply to the response.
fn answer(state: &Mutex<State>, http_method: &str, params: &BTreeMap<String, String>) -> (u16, Value, Option<Fault>) {
    let mut state = state.lock().expect("fake state");
    state.requests.push(params.clone());
    let method = params.get("method").map(|method| method.to_ascii_lowercase()).unwrap_or_default();
    if params.get("api_key").map(String::as_str) != Some(API_KEY) {
        let (status, body) = error(403, 10, "Invalid API key - You must be granted a valid key by last.fm");
        return (status, body, None);
    }
    let signed = matches!(method.as_str(), "auth.gettoken" | "auth.getsession" | "track.love" | "track.unlove");
    if signed {
        let expected = api_sig(params, SHARED_SECRET);
        if !params.get("api_sig").is_some_and(|sig| sig.eq_ignore_ascii_case(&expected)) {
            let (status, body) = error(403, 13, "Invalid method signature supplied");
            return (status, body, None);
        }
    }
    let fault =
        state.always.clone().or_else(|| if method == "user.getrecenttracks" { state.faults.pop_front() } else { None });
    if let Some(Fault::Error { status, code }) = fault {
        let (status, body) = error(status, code, "Injected failure");
        return (status, body, None);
    }
    let (status, body) = match method.as_str() {
        "user.getrecenttracks" => recent_tracks(&mut state, params, matches!(fault, Some(Fault::EmptyPage))),
        "auth.gettoken" => {
            let token = format!("token{:04}", state.tokens.len() + 1);
            state.tokens.insert(token.clone(), 1);
            (200, json!({"token": token}))
        }
        "auth.getsession" => {
            let token = params.get("token").cloned().unwrap_or_default();
            match state.tokens.get_mut(&token) {
                None => error(403, 15, "This token has expired"),
                Some(refusals) if *refusals > 0 => {
                    *refusals -= 1;
                    error(403, 14, "Unauthorized Token - This token has not been authorized")
                }
                Some(_) => {
                    let key = format!("session{:04}", state.sessions.len() + 1);
                    let user = state.login_user.clone();
                    state.sessions.insert(key.clone(), user.clone());
                    (200, json!({"session": {"name": user, "key": key, "subscriber": 0}}))
                }
            }
        }
        "track.love" | "track.unlove" if http_method != "POST" => error(405, 3, "Invalid Method - writes are POST"),
        "track.love" | "track.unlove" => {
            if !params.get("sk").is_some_and(|sk| state.sessions.contains_key(sk)) {
                error(403, 9, "Invalid session key - Please re-authenticate")
            } else {
                let pair = (
                    params.get("artist").cloned().unwrap_or_default(),
                    params.get("track").cloned().unwrap_or_default(),
                );
                if method == "track.love" {
                    state.loved.insert(pair);
                } else {
                    state.loved.remove(&pair);
                }
                (200, json!({}))
            }
        }
        "album.getinfo" => {
            let key =
                (params.get("artist").cloned().unwrap_or_default(), params.get("album").cloned().unwrap_or_default());
            match state.albums.get(&key) {
                Some(body) => (200, body.clone()),
                None => (200, json!({"error": 6, "message": "Album not found", "links": []})),
            }
        }
        "artist.getinfo" => {
            let name = params.get("artist").cloned().unwrap_or_default();
            (
                200,
                json!({"artist": {
                    "name": name,
                    "url": format!("https://www.last.fm/music/{}", name.replace(' ', "+")),
                    "image": [{"#text": "https://img.example/a-small.png", "size": "small"}, {"#text": "https://img.example/a-large.png", "size": "large"}],
                    "bio": {"summary": format!("{name} is a test artist. <a href=\"https://www.last.fm/music/x\">Read more on Last.fm</a>")}
                }}),
            )
        }
        _ => error(400, 3, "Invalid Method - No method with that name in this package"),
    };
    (status, body, fault)
}

fn recent_tracks(state: &mut State, params: &BTreeMap<String, String>, empty: bool) -> (u16, Value) {
    let user = params.get("user").cloned().unwrap_or_default();
    if state.private.contains(&user) {
        return error(403, 17, "Login: User required to be logged in");
    }
    if !state.scrobbles.contains_key(&user) {
        return error(404, 6, "User not found");
    }
    let number = |name: &str| params.get(name).and_then(|value| value.parse::<i64>().ok());
    let limit = number("limit").unwrap_or(50).clamp(1, 200) as usize;
    let page = number("page").unwrap_or(1).max(1) as usize;
    let from = number("from").unwrap_or(i64::MIN);
    let to = number("to").unwrap_or(i64::MAX);
    let extended = params.get("extended").map(String::as_str) == Some("1");
    let mut scrobbles: Vec<&Scrobble> =
        state.scrobbles[&user].iter().filter(|scrobble| scrobble.uts >= from && scrobble.uts < to).collect();
    // Newest first; a stable order within one second.
    scrobbles.sort_by(|a, b| b.uts.cmp(&a.uts).then_with(|| a.track.cmp(&b.track)));
    let total = scrobbles.len();
    let pages = total.div_ceil(limit);
    let mut tracks: Vec<Value> = Vec::new();
    if page == 1
        && let Some((artist, track)) = state.now_playing.get(&user)
    {
        let mut now = track_json(
            &Scrobble { artist: artist.clone(), track: track.clone(), album: String::new(), uts: 0 },
            extended,
            false,
        );
        now.as_object_mut().expect("object").remove("date");
        now["@attr"] = json!({"nowplaying": "true"});
        tracks.push(now);
    }
    if !empty {
        for scrobble in scrobbles.iter().skip((page - 1) * limit).take(limit) {
            let loved = state.loved.contains(&(scrobble.artist.clone(), scrobble.track.clone()));
            tracks.push(track_json(scrobble, extended, loved));
        }
    }
    state.pages_served += 1;
    if let Some((after, user, arriving)) = state.arriving.take() {
        if state.pages_served >= after {
            state.scrobbles.entry(user).or_default().extend(arriving);
        } else {
            state.arriving = Some((after, user, arriving));
        }
    }
    (
        200,
        json!({"recenttracks": {
            "track": tracks,
            "@attr": {"user": user, "totalPages": pages.to_string(), "page": page.to_string(), "perPage": limit.to_string(), "total": total.to_string()}
        }}),
    )
}

fn track_json(scrobble: &Scrobble, extended: bool, loved: bool) -> Value {
    let image = json!([{"size": "small", "#text": "https://img.example/s.jpg"}, {"size": "extralarge", "#text": "https://img.example/xl.jpg"}]);
    let artist = if extended {
        json!({"url": format!("https://www.last.fm/music/{}", scrobble.artist.replace(' ', "+")), "mbid": "", "image": image.clone(), "name": scrobble.artist})
    } else {
        json!({"mbid": "", "#text": scrobble.artist})
    };
    let mut track = json!({
        "artist": artist,
        "streamable": "0",
        "image": image,
        "mbid": "",
        "album": {"mbid": "", "#text": scrobble.album},
        "name": scrobble.track,
        "url": "https://www.last.fm/music/x/_/y",
        "date": {"uts": scrobble.uts.to_string(), "#text": "01 Jan 2024, 00:00"}
    });
    if extended {
        track["loved"] = json!(if loved { "1" } else { "0" });
    }
    track
}

fn respond(stream: TcpStream, status: u16, body: Value, fault: Option<Fault>) {
    let mut bytes = serde_json::to_vec(&body).expect("JSON");
    let mut content_type = "application/json; charset=UTF-8";
    let mut status = status;
    match fault {
        Some(Fault::Hang) => {
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        Some(Fault::Slow(delay)) => std::thread::sleep(delay),
        Some(Fault::Truncated) => {
            bytes.truncate(bytes.len() / 2);
        }
        Some(Fault::Malformed) => bytes = b"{\"recenttracks\": <html>oops".to_vec(),
        Some(Fault::Huge) => bytes = vec![b' '; 9 * 1024 * 1024],
        Some(Fault::Html(code)) => {
            status = code;
            content_type = "text/html";
            bytes = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>".to_vec();
        }
        _ => {}
    }
    http::write_response(stream, status, &[("Content-Type", content_type.to_owned())], &bytes);
}
