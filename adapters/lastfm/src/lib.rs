//! The Last.fm adapter: a plugin on the musique SDK, linked into musiqued and
//! also built as a drop-in library (`musique-lastfm-plugin`).
//!
//! It answers the host's calls; the host drives every long job:
//!
//! - `history.page`: one page of `user.getRecentTracks` (200 scrobbles,
//!   `extended=1` for the loved flag). The walk goes backwards in time with a
//!   fixed upper bound (`to`), always asking for page 1 below the oldest
//!   scrobble seen, so scrobbles arriving during an import never shift pages
//!   and deep pages (which Last.fm serves badly) are never asked for. The
//!   cursor is this walk's position; the host stores it with each page.
//! - `live.config`: the poll interval for the host's tracker.
//! - `auth.begin` / `auth.complete`: the desktop token flow; the session key
//!   is kept in the plugin's own state, never returned.
//! - `track.love`: `track.love` / `track.unlove`, signed with the session key.
//! - `enrich`: images and wiki summary from `artist.getInfo` / `album.getInfo`.
//!
//! Requests keep to `requests_per_second`. Failures come back as SDK errors
//! whose kind tells the host whether to retry (`rate_limited`, `unavailable`)
//! or to stop and tell the user (`unauthorized`, `invalid_input`).

pub mod client;
pub mod codes;
pub mod settings;
pub mod wire;

use codes::ErrorCode;

use musique_sdk::protocol::{
    AuthBegin, AuthComplete, AuthStatus, EnrichRequest, HistoryPage, HistoryRequest, LiveConfig, Love, method,
};
use musique_sdk::{Capability, Error, ErrorKind, Host, Level, Plugin};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use client::{Client, Mode};
use settings::Settings;

/// Scrobbles per page: the documented maximum.
pub const PAGE_SIZE: u64 = 200;

/// The plugin state key of the session.
const SESSION_KEY: &str = "session";

/// The Last.fm adapter.
#[derive(Debug)]
pub struct Lastfm {
    host: Host,
    settings: Settings,
    client: Client,
}

/// Where a history walk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// Scrobbles before this second (exclusive).
    to: i64,
    /// The page to ask for below `to`: 1, unless one second holds more than a page.
    page: u64,
    /// Scrobbles at second `to - 1` already delivered, to leave out.
    skip: u64,
    /// Pages done so far.
    done: u64,
}

/// The stored session.
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    name: String,
    key: String,
}

impl Plugin for Lastfm {
    const NAME: &'static str = "lastfm";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: &'static [Capability] = &[Capability::History, Capability::Live, Capability::Enrich];

    fn create(host: Host, config: Value) -> Result<Self, Error> {
        let settings = Settings::parse(config, &|name| std::env::var(name).ok())?;
        let client = Client::new(&settings)?;
        host.log(
            Level::Info,
            &format!(
                "Last.fm adapter ready: user {}, {} requests/s, {}",
                settings.user.as_deref().unwrap_or("(not set)"),
                settings.requests_per_second,
                settings.api_url
            ),
        );
        Ok(Lastfm { host, settings, client })
    }

    fn call(&mut self, name: &str, payload: Value) -> Result<Value, Error> {
        match name {
            method::HISTORY_PAGE => reply(self.history_page(parse(payload)?)?),
            method::LIVE_CONFIG => {
                reply(LiveConfig { poll_interval_ms: self.settings.poll_interval.as_millis() as u64 })
            }
            method::AUTH_BEGIN => reply(self.auth_begin()?),
            method::AUTH_COMPLETE => reply(self.auth_complete(parse(payload)?)?),
            method::LOVE => {
                self.love(parse(payload)?)?;
                Ok(Value::Null)
            }
            method::ENRICH => reply(self.enrich(parse(payload)?)?),
            _ => Err(Error::unknown_method(name)),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, Error> {
    serde_json::from_value(payload).map_err(|err| Error::new(ErrorKind::InvalidInput, err.to_string()))
}

fn reply(value: impl Serialize) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|err| Error::new(ErrorKind::Internal, err.to_string()))
}

impl Lastfm {
    /// Whose history to read: the configured user, else the signed-in one.
    fn user(&self) -> Result<String, Error> {
        if let Some(user) = &self.settings.user {
            return Ok(user.clone());
        }
        self.session().map(|session| session.name).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "no Last.fm user: set user in [adapters.lastfm] or run `musiquectl lastfm login`",
            )
        })
    }

    fn session(&self) -> Option<Session> {
        serde_json::from_slice(&self.host.kv_get(SESSION_KEY)?).ok()
    }

    fn history_page(&mut self, request: HistoryRequest) -> Result<HistoryPage, Error> {
        let user = self.user()?;
        let cursor = match request.cursor {
            None => Cursor {
                to: request.to.unwrap_or_else(|| self.host.now_ms().div_euclid(1000) + 1),
                page: 1,
                skip: 0,
                done: 0,
            },
            Some(cursor) => serde_json::from_value(cursor)
                .map_err(|err| Error::new(ErrorKind::InvalidInput, format!("not a Last.fm history cursor: {err}")))?,
        };
        let from = request.from.unwrap_or(0).max(0);
        let (to, page_number) = (cursor.to.to_string(), cursor.page.to_string());
        let mut params =
            vec![("user", user.as_str()), ("limit", "200"), ("page", page_number.as_str()), ("extended", "1")];
        params.push(("to", to.as_str()));
        let from_text = from.to_string();
        if from > 0 {
            params.push(("from", from_text.as_str()));
        }
        let body = self.client.call("user.getRecentTracks", &params, Mode::Read)?;
        let page = wire::recent_page(&body, "recenttracks")?;
        if !page.user.is_empty() && !page.user.eq_ignore_ascii_case(&user) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("Last.fm answered with the tracks of {} instead of {user} (a known Last.fm fault)", page.user),
            ));
        }
        let dated = page.scrobbles.len() as u64 + page.unreadable;
        if page.scrobbles.is_empty() && page.total_pages > cursor.page {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("Last.fm sent an empty page {} of {}", cursor.page, page.total_pages),
            ));
        }
        if page.unreadable > 0 {
            self.host.log(Level::Warn, &format!("{} unreadable scrobbles left out of a page", page.unreadable));
        }
        // Keep strictly to [from, to): whether Last.fm's bounds are inclusive has varied.
        let mut at_edge = 0;
        let listens: Vec<_> = page
            .scrobbles
            .into_iter()
            .filter(|listen| listen.listened_at >= from && listen.listened_at < cursor.to)
            .filter(|listen| {
                if cursor.page == 1 && listen.listened_at == cursor.to - 1 && at_edge < cursor.skip {
                    at_edge += 1;
                    return false;
                }
                true
            })
            .collect();
        let done = cursor.done + 1;
        let remaining = page.total_pages.saturating_sub(cursor.page - 1).max(1);
        let last = dated < PAGE_SIZE || page.total_pages <= cursor.page;
        let next = match listens.iter().map(|listen| listen.listened_at).min() {
            _ if last => None,
            Some(oldest) if oldest + 1 < cursor.to => {
                let skip = listens.iter().filter(|listen| listen.listened_at == oldest).count() as u64;
                Some(Cursor { to: oldest + 1, page: 1, skip, done })
            }
            // One second holds more than a page: go on to the next page below the same bound.
            _ => Some(Cursor { to: cursor.to, page: cursor.page + 1, skip: 0, done }),
        };
        Ok(HistoryPage {
            listens,
            now_playing: page.now_playing,
            next: next.map(|next| serde_json::to_value(next).expect("a cursor is JSON")),
            pages_done: done,
            pages_total: Some(cursor.done + remaining),
        })
    }

    fn auth_begin(&mut self) -> Result<AuthBegin, Error> {
        let body = self.client.call("auth.getToken", &[], Mode::SignedRead)?;
        let token = body
            .get("token")
            .and_then(wire::text)
            .ok_or_else(|| Error::new(ErrorKind::Unavailable, "Last.fm auth.getToken answered without a token"))?;
        let api_key = self.settings.api_key.as_ref().map(|key| key.expose()).unwrap_or_default();
        let separator = if self.settings.auth_url.contains('?') { '&' } else { '?' };
        let url = format!("{}{separator}api_key={api_key}&token={token}", self.settings.auth_url);
        Ok(AuthBegin { url, token })
    }

    fn auth_complete(&mut self, request: AuthComplete) -> Result<AuthStatus, Error> {
        let body = match self.client.call("auth.getSession", &[("token", &request.token)], Mode::SignedRead) {
            Ok(body) => body,
            Err(err) if client::error_code(&err) == Some(ErrorCode::UnauthorizedToken) => {
                return Ok(AuthStatus { done: false, user: None });
            }
            Err(err) => return Err(err),
        };
        let session = body.get("session");
        let name = session.and_then(|session| session.get("name")).and_then(wire::text);
        let key = session.and_then(|session| session.get("key")).and_then(wire::text);
        let (Some(name), Some(key)) = (name, key) else {
            return Err(Error::new(ErrorKind::Unavailable, "Last.fm auth.getSession answered without a session"));
        };
        let stored = serde_json::to_vec(&Session { name: name.clone(), key }).expect("a session is JSON");
        self.host.kv_put(SESSION_KEY, &stored)?;
        self.host.log(Level::Info, &format!("signed in to Last.fm as {name}"));
        Ok(AuthStatus { done: true, user: Some(name) })
    }

    fn love(&mut self, love: Love) -> Result<(), Error> {
        let session = self.session().ok_or_else(|| {
            Error::new(ErrorKind::Unauthorized, "not signed in to Last.fm: run `musiquectl lastfm login` first")
        })?;
        let method = if love.loved { "track.love" } else { "track.unlove" };
        let params = [("artist", love.artist.as_str()), ("track", love.track.as_str()), ("sk", session.key.as_str())];
        self.client.call(method, &params, Mode::Write)?;
        Ok(())
    }

    fn enrich(&mut self, request: EnrichRequest) -> Result<Option<musique_sdk::protocol::Enrichment>, Error> {
        let (method, root) =
            if request.album.is_some() { ("album.getInfo", "album") } else { ("artist.getInfo", "artist") };
        let mut params = vec![("artist", request.artist.as_str()), ("autocorrect", "1")];
        if let Some(album) = &request.album {
            params.push(("album", album.as_str()));
        }
        match self.client.call(method, &params, Mode::Read) {
            Ok(body) => wire::enrichment(&body, root).map(Some),
            // Not found: nothing to add (the host remembers that, too).
            Err(err) if client::error_code(&err) == Some(ErrorCode::InvalidParameters) => Ok(None),
            Err(err) => Err(err),
        }
    }
}
