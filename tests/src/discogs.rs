//! A fake Discogs API on loopback, serving the real shapes of
//! `tests/fixtures/discogs/`, programmable per test: the user and token, the
//! folders, collection items made from the fixture's items (the same release
//! twice, missing years, blank images, namesake suffixes, credited names),
//! releases' details made from the fixture's release (headings, index tracks
//! with sub-tracks, blank durations), and faults for the next requests (429
//! with the rate-limit headers, 500, 401, truncated and malformed bodies).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::http;

/// The user whose collection the fake holds.
pub const USER: &str = "quiet_orchard";
/// The personal token the fake accepts.
pub const TOKEN: &str = "discogs-test-token-5e1f";

const FOLDERS: &str = include_str!("../fixtures/discogs/folders.json");
const PAGE: &str = include_str!("../fixtures/discogs/collection-page.json");
const RELEASE: &str = include_str!("../fixtures/discogs/release.json");

/// What goes wrong with one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// This status with Discogs' error body for it (429 with the rate-limit headers at 0).
    Status(u16),
    /// The right body, cut in the middle.
    Truncated,
    /// A body that is not JSON.
    Malformed,
    /// A body of 9 MB.
    Huge,
    /// No fault: the right answer (to space faults out).
    Pass,
}

/// The fake's state; tests change it through [`FakeDiscogs::with`].
#[derive(Debug, Default)]
pub struct State {
    /// Collection items, oldest addition first (folder 0's order with `sort=added`).
    pub items: Vec<Value>,
    /// Release bodies by id; a release not here is a 404.
    pub releases: HashMap<u64, Value>,
    /// Faults for the next requests, in order.
    pub faults: VecDeque<Fault>,
    /// Every request: path and query, and its `Authorization` and `User-Agent` headers.
    pub requests: Vec<(String, Option<String>, Option<String>)>,
    /// Requests answered successfully.
    pub served: usize,
    /// Once this many requests were answered successfully, the next ones are
    /// held until it is cleared (to kill a daemon mid-sync).
    pub hold_after: Option<usize>,
    /// Requests held now.
    pub held: usize,
    /// Items made so far (the next one's number).
    pub made: usize,
    /// The collection is private and the token is not its owner's: its requests are refused (403).
    pub private: bool,
}

/// A running fake; stops serving when dropped.
pub struct FakeDiscogs {
    /// Its root, `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeDiscogs {
    /// Starts the fake on a free loopback port, with an empty collection.
    pub fn start() -> FakeDiscogs {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake Discogs");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State::default()));
        let serving = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = serving.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeDiscogs { url, state }
    }

    /// Changes the state.
    pub fn with<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        change(&mut self.state.lock().expect("fake state"))
    }

    /// Adds `count` items made from the fixture's, added a day apart from
    /// 2015-01-01, in folders 1 and 2, each with its release's details; every
    /// tenth owns the release of the one before (a second copy). Returns their
    /// instance ids.
    pub fn add_items(&self, count: usize) -> Vec<u64> {
        let templates: Vec<Value> = serde_json::from_str::<Value>(PAGE).expect("fixture")["releases"]
            .as_array()
            .expect("fixture releases")
            .clone();
        self.with(|state| {
            let first = state.made;
            state.made += count;
            let mut ids = Vec::with_capacity(count);
            for n in first..first + count {
                let mut item = templates[n % templates.len()].clone();
                let instance_id = 900_000 + n as u64;
                let release_id = if n % 10 == 9 { 500_000 + n as u64 - 1 } else { 500_000 + n as u64 };
                item["instance_id"] = json!(instance_id);
                item["id"] = json!(release_id);
                item["folder_id"] = json!(1 + n as u64 % 2);
                let day = jiff::civil::date(2015, 1, 1).checked_add(jiff::Span::new().days(n as i64)).expect("date");
                item["date_added"] = json!(format!("{day}T12:00:00-08:00"));
                let basic = &mut item["basic_information"];
                basic["id"] = json!(release_id);
                basic["title"] = json!(format!("Record {n}"));
                basic["artists"][0]["name"] = json!(format!("Artist {} (2)", n % 7));
                basic["year"] = json!(if n % 5 == 4 { 0 } else { 1990 + n as u64 % 30 });
                if n % 4 == 3 {
                    basic["thumb"] = json!("");
                    basic["cover_image"] = json!("");
                }
                state.releases.entry(release_id).or_insert_with(|| release(release_id, n));
                state.items.push(item);
                ids.push(instance_id);
            }
            ids
        })
    }

    /// Requests made to a path starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.with(|state| state.requests.iter().filter(|(path, _, _)| path.starts_with(prefix)).count())
    }

    /// The `[adapters.discogs]` config for a daemon using this fake (a fast budget); `extra` adds keys.
    pub fn config(&self, extra: &str) -> String {
        self.config_as(USER, TOKEN, extra)
    }

    /// [`FakeDiscogs::config`] with another user and token.
    pub fn config_as(&self, user: &str, token: &str, extra: &str) -> String {
        self.config_paged(user, token, 7, extra)
    }

    /// [`FakeDiscogs::config_as`] with `per_page` items a page.
    pub fn config_paged(&self, user: &str, token: &str, per_page: u32, extra: &str) -> String {
        format!(
            "[import]\nretry_base_ms = 10\nretry_max_ms = 200\n\n[adapters.discogs]\nuser = \"{user}\"\n\
             token = \"{token}\"\napi_url = \"{}\"\nrequests_per_minute = 100000\nper_page = {per_page}\n\
             timeout = \"2s\"\n{extra}",
            self.url
        )
    }
}

/// The fixture's release, as release `id` (the `n`th made).
fn release(id: u64, n: usize) -> Value {
    let mut body: Value = serde_json::from_str(RELEASE).expect("fixture");
    body["id"] = json!(id);
    body["title"] = json!(format!("Record {n}"));
    if n.is_multiple_of(3) {
        // A heading and an index track with sub-tracks.
        let tracklist = body["tracklist"].as_array_mut().expect("tracklist");
        tracklist.insert(0, json!({"position": "", "type_": "heading", "title": "Side One", "duration": ""}));
        tracklist.push(json!({"position": "B6", "type_": "index", "title": "Suite", "duration": "",
            "sub_tracks": [{"position": "B6.a", "type_": "track", "title": "Part I", "duration": "2:01"},
                           {"position": "B6.b", "type_": "track", "title": "Part II", "duration": ""}]}));
    }
    body
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let Some(request) = http::read_request(&stream) else { return };
    let mut counted = false;
    loop {
        let mut state = state.lock().expect("fake state");
        if state.hold_after.is_none_or(|after| state.served < after) {
            if counted {
                state.held -= 1;
            }
            break;
        }
        if !counted {
            state.held += 1;
            counted = true;
        }
        drop(state);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let auth = request.headers.get("authorization").cloned();
    let agent = request.headers.get("user-agent").cloned();
    let (status, body, fault) = {
        let mut state = state.lock().expect("fake state");
        state.requests.push((request.target.clone(), auth.clone(), agent.clone()));
        let fault = state.faults.pop_front();
        if agent.as_deref().is_none_or(|agent| agent.trim().is_empty()) {
            (403, b"<html><body>Forbidden</body></html>".to_vec(), None)
        } else if let Some(Fault::Status(status)) = fault {
            (status, serde_json::to_vec(&error_body(status)).expect("JSON"), Some(Fault::Status(status)))
        } else if auth.as_deref() != Some(&format!("Discogs token={TOKEN}")) {
            let body = json!({"message": "You must authenticate to access this resource."});
            (401, serde_json::to_vec(&body).expect("JSON"), None)
        } else {
            let (status, body) = answer(&mut state, &request);
            if status == 200 {
                state.served += 1;
            }
            (status, serde_json::to_vec(&body).expect("JSON"), fault)
        }
    };
    let mut bytes = body;
    let remaining = if fault == Some(Fault::Status(429)) { 0 } else { 50 };
    match fault {
        Some(Fault::Truncated) => bytes.truncate(bytes.len() / 2),
        Some(Fault::Malformed) => bytes = b"{\"pagination\": <html>".to_vec(),
        Some(Fault::Huge) => bytes = vec![b' '; 9 * 1024 * 1024],
        _ => {}
    }
    let headers = [
        ("Content-Type", "application/json".to_owned()),
        ("X-Discogs-Media-Type", "discogs.v2".to_owned()),
        ("X-Discogs-Ratelimit", "60".to_owned()),
        ("X-Discogs-Ratelimit-Used", (60 - remaining).to_string()),
        ("X-Discogs-Ratelimit-Remaining", remaining.to_string()),
    ];
    http::write_response(stream, status, &headers, &bytes);
}

fn error_body(status: u16) -> Value {
    let message = match status {
        401 => "You must authenticate to access this resource.",
        403 => "You don't have permission to access this resource.",
        404 => "The requested resource was not found.",
        429 => "You are making requests too quickly.",
        _ => "Internal server error.",
    };
    json!({"message": message})
}

fn answer(state: &mut State, request: &http::Request) -> (u16, Value) {
    let path = request.path();
    let query = request.query();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["users", user, "collection", ..] if *user == USER && state.private => {
            (403, json!({"message": "You don't have permission to access this resource."}))
        }
        ["users", user, "collection", "folders"] if *user == USER => {
            let mut body: Value = serde_json::from_str(FOLDERS).expect("fixture");
            let counts = |folder: u64| state.items.iter().filter(|item| item["folder_id"] == folder).count();
            body["folders"][0]["count"] = json!(state.items.len());
            body["folders"][1]["count"] = json!(counts(1));
            body["folders"][2]["count"] = json!(counts(2));
            (200, body)
        }
        ["users", user, "collection", "folders", "0", "releases"] if *user == USER => page(state, &query, path),
        ["users", ..] => (404, json!({"message": "User does not exist or may have been deleted."})),
        ["database", "search"] => search(state, &query),
        ["releases", id] => match id.parse::<u64>().ok().and_then(|id| state.releases.get(&id)) {
            Some(body) => (200, body.clone()),
            None => (404, json!({"message": "Release not found."})),
        },
        _ => (404, json!({"message": "The requested resource was not found."})),
    }
}

/// `/database/search`: releases by `artist` and `release_title`, or artists by `q`, as Discogs answers them.
fn search(state: &State, query: &BTreeMap<String, String>) -> (u16, Value) {
    let wanted = |name: &str| query.get(name).map(|value| value.to_lowercase()).unwrap_or_default();
    let plain = |name: &str| name.rsplit_once(" (").map_or(name, |(name, _)| name).to_lowercase();
    let mut results = Vec::new();
    for item in &state.items {
        let basic = &item["basic_information"];
        let artist = basic["artists"][0]["name"].as_str().unwrap_or_default();
        let title = basic["title"].as_str().unwrap_or_default();
        let hit = match query.get("type").map(String::as_str) {
            Some("release") => plain(artist) == wanted("artist") && title.to_lowercase() == wanted("release_title"),
            Some("artist") => plain(artist) == wanted("q"),
            _ => false,
        };
        if !hit || results.len() == 5 {
            continue;
        }
        results.push(match query.get("type").map(String::as_str) {
            Some("release") => json!({
                "type": "release", "id": basic["id"], "title": format!("{} - {title}", plain(artist)),
                "thumb": basic["thumb"], "cover_image": basic["cover_image"],
                "uri": format!("/release/{}-{}", basic["id"], title.replace(' ', "-")),
                "resource_url": format!("https://api.discogs.com/releases/{}", basic["id"]),
            }),
            _ => json!({
                "type": "artist", "id": 1, "title": artist,
                "thumb": "https://i.discogs.com/artist-150.jpg", "cover_image": "https://i.discogs.com/artist-600.jpg",
                "uri": "/artist/1", "resource_url": "https://api.discogs.com/artists/1",
            }),
        });
        if query.get("type").map(String::as_str) == Some("artist") {
            break;
        }
    }
    let count = results.len();
    (200, json!({"pagination": {"page": 1, "pages": 1, "per_page": 5, "items": count, "urls": {}}, "results": results}))
}

fn page(state: &State, query: &BTreeMap<String, String>, path: &str) -> (u16, Value) {
    let number = |name: &str, default: usize| query.get(name).and_then(|value| value.parse().ok()).unwrap_or(default);
    let per_page = number("per_page", 50).clamp(1, 100);
    let page = number("page", 1).max(1);
    let mut items: Vec<&Value> = state.items.iter().collect();
    if query.get("sort_order").map(String::as_str) == Some("desc") {
        items.reverse();
    }
    let pages = items.len().div_ceil(per_page).max(1);
    if page > pages {
        return (404, json!({"message": "Page not found."}));
    }
    let link = |page: usize| {
        format!("https://api.discogs.com{path}?sort=added&sort_order=asc&per_page={per_page}&page={page}")
    };
    let mut urls = serde_json::Map::new();
    if page > 1 {
        urls.insert("first".into(), json!(link(1)));
        urls.insert("prev".into(), json!(link(page - 1)));
    }
    if page < pages {
        urls.insert("next".into(), json!(link(page + 1)));
        urls.insert("last".into(), json!(link(pages)));
    }
    let releases: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    (
        200,
        json!({
            "pagination": {"page": page, "pages": pages, "per_page": per_page, "items": state.items.len(), "urls": urls},
            "releases": releases,
        }),
    )
}
