//! An example plugin with the `history` and `live` capabilities, built as a
//! `cdylib` and loaded by the end-to-end tests as a drop-in.
//!
//! It serves the listens of its `[adapters.feed]` table as if they came from a
//! remote service, newest first, a few per page: the shape every plugin that
//! imports history has. `musiquectl import feed` walks its `history.page`, and
//! `musiquectl tracker start feed` polls the same walk every `live.config`
//! interval.
//!
//! ```toml
//! [adapters.feed]
//! page_size = 2
//! poll_interval_ms = 500
//! now_playing = { artist = "Broadcast", track = "Pendulum" }
//! listens = [
//!   { artist = "Stereolab", track = "French Disko", listened_at = 1700000000 },
//!   { artist = "Broadcast", track = "Tears in the Typing Pool", listened_at = 1700000300, album = "Haha Sound" },
//! ]
//! ```
//!
//! `hang_on = ["history.page"]` makes the named methods never return, so tests can
//! see what the daemon does with a plugin that hangs.

use musique_sdk::protocol::{HistoryPage, HistoryRequest, Listen, LiveConfig, NowPlaying, method};
use musique_sdk::{Capability, Error, ErrorKind, Host, Level, Plugin, export_plugin};
use serde_json::{Value, json};

/// Listens per page unless `page_size` says otherwise.
const DEFAULT_PAGE_SIZE: usize = 50;
/// Time between two tracker polls unless `poll_interval_ms` says otherwise.
const DEFAULT_POLL_INTERVAL_MS: u64 = 30_000;

/// The example plugin: its "service" is its config.
pub struct Feed {
    /// Every listen the service has, newest first.
    listens: Vec<Listen>,
    /// What the service says plays now.
    now_playing: Option<NowPlaying>,
    page_size: usize,
    poll_interval_ms: u64,
    /// Methods that never return (`hang_on`), to test the host's defences.
    hang_on: Vec<String>,
}

impl Plugin for Feed {
    const NAME: &'static str = "feed";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: &'static [Capability] = &[Capability::History, Capability::Live];

    fn create(host: Host, config: Value) -> Result<Self, Error> {
        let invalid =
            |what: &str, err: serde_json::Error| Error::new(ErrorKind::InvalidInput, format!("{what}: {err}"));
        let mut listens: Vec<Listen> = match config.get("listens") {
            Some(listens) => serde_json::from_value(listens.clone()).map_err(|err| invalid("`listens`", err))?,
            None => Vec::new(),
        };
        listens.sort_by_key(|listen| std::cmp::Reverse(listen.listened_at));
        let now_playing = match config.get("now_playing") {
            Some(now) => Some(serde_json::from_value(now.clone()).map_err(|err| invalid("`now_playing`", err))?),
            None => None,
        };
        let page_size = config["page_size"].as_u64().map_or(DEFAULT_PAGE_SIZE, |size| size.max(1) as usize);
        let poll_interval_ms = config["poll_interval_ms"].as_u64().unwrap_or(DEFAULT_POLL_INTERVAL_MS);
        let hang_on = match config.get("hang_on") {
            Some(methods) => serde_json::from_value(methods.clone()).map_err(|err| invalid("`hang_on`", err))?,
            None => Vec::new(),
        };
        host.log(Level::Info, &format!("feed plugin created with {} listens", listens.len()));
        Ok(Feed { listens, now_playing, page_size, poll_interval_ms, hang_on })
    }

    fn call(&mut self, method: &str, payload: Value) -> Result<Value, Error> {
        if self.hang_on.iter().any(|hang| hang == method) {
            loop {
                std::thread::park();
            }
        }
        match method {
            method::HISTORY_PAGE => {
                let request: HistoryRequest = serde_json::from_value(payload)
                    .map_err(|err| Error::new(ErrorKind::InvalidInput, format!("history.page: {err}")))?;
                serde_json::to_value(self.page(&request)).map_err(internal)
            }
            method::LIVE_CONFIG => {
                serde_json::to_value(LiveConfig { poll_interval_ms: self.poll_interval_ms }).map_err(internal)
            }
            other => Err(Error::unknown_method(other)),
        }
    }
}

impl Feed {
    /// One page of the walk over `[from, to)`. The cursor is the plugin's own JSON (here
    /// `{"offset": n}`); the host only stores it and sends it back for the next page.
    fn page(&self, request: &HistoryRequest) -> HistoryPage {
        // The host stores every listen of a page: the plugin applies the bounds itself.
        let matching: Vec<&Listen> = self
            .listens
            .iter()
            .filter(|listen| request.from.is_none_or(|from| listen.listened_at >= from))
            .filter(|listen| request.to.is_none_or(|to| listen.listened_at < to))
            .collect();
        let offset = request.cursor.as_ref().and_then(|cursor| cursor["offset"].as_u64()).unwrap_or(0) as usize;
        let end = (offset + self.page_size).min(matching.len());
        let listens = matching.get(offset..end).unwrap_or_default().iter().map(|listen| (*listen).clone()).collect();
        HistoryPage {
            listens,
            now_playing: self.now_playing.clone(),
            next: (end < matching.len()).then(|| json!({ "offset": end })),
            pages_done: (offset / self.page_size + 1) as u64,
            pages_total: Some(matching.len().div_ceil(self.page_size).max(1) as u64),
        }
    }
}

fn internal(err: serde_json::Error) -> Error {
    Error::new(ErrorKind::Internal, err.to_string())
}

export_plugin!(Feed);

#[cfg(test)]
mod tests {
    use musique_sdk::testkit::RecordingHost;
    use serde_json::json;

    use super::*;

    fn walk(plugin: &mut musique_sdk::host::Instance, from: Option<i64>, to: Option<i64>) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let request = HistoryRequest { from, to, cursor: cursor.take() };
            let page: HistoryPage =
                serde_json::from_value(plugin.call(method::HISTORY_PAGE, &json!(request)).unwrap()).unwrap();
            pages.push(page.listens.iter().map(|listen| listen.track.clone()).collect());
            match page.next {
                Some(next) => cursor = Some(next),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_newest_first_within_the_bounds() {
        let host = RecordingHost::new();
        let listens: Vec<Value> = (0..5)
            .map(|index| json!({"artist": "A", "track": format!("T{index}"), "listened_at": 100 + index}))
            .collect();
        let mut plugin = host.start::<Feed>(json!({"page_size": 2, "listens": listens})).unwrap();
        assert_eq!(walk(&mut plugin, None, None), [vec!["T4", "T3"], vec!["T2", "T1"], vec!["T0"]]);
        assert_eq!(walk(&mut plugin, Some(101), Some(104)), [vec!["T3", "T2"], vec!["T1"]]);
        assert_eq!(walk(&mut plugin, Some(200), None), [Vec::<String>::new()]);
        let live = plugin.call(method::LIVE_CONFIG, &Value::Null).unwrap();
        assert_eq!(live, json!({"poll_interval_ms": DEFAULT_POLL_INTERVAL_MS}));
    }

    #[test]
    fn a_bad_table_fails_create() {
        let host = RecordingHost::new();
        let err = host.start::<Feed>(json!({"listens": [{"artist": "A"}]})).unwrap_err();
        assert!(err.to_string().contains("`listens`"), "{err}");
    }
}
