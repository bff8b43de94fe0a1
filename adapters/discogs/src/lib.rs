//! The Discogs adapter: a plugin on the musique SDK, linked into musiqued and
//! also built as a drop-in library (`musique-discogs-plugin`).
//!
//! It answers the host's calls of the `collection` capability; the host
//! drives the sync and stores what it gets:
//!
//! - `collection.page`: the folders (on the first page), then one page of
//!   folder 0 ("All"), oldest additions first, so records added during a
//!   sync land on later pages and never shift the ones still to read. The
//!   cursor is the next page's number.
//! - `collection.release`: one release's details (`/releases/{id}`).
//! - `enrich`: a cover and the Discogs page of an album (the first release the
//!   database search finds for the artist and title) or of an artist; needs the token.
//!
//! Requests keep to `requests_per_minute` (see [`client`]). Failures come back
//! as SDK errors whose kind tells the host whether to retry (`rate_limited`,
//! `unavailable`) or to stop and say why (`unauthorized`, `invalid_input`).

pub mod client;
pub mod settings;
pub mod wire;

use musique_sdk::collection::{Folder, Page, PageRequest, Release, ReleaseRequest, method};
use musique_sdk::protocol::{EnrichRequest, Enrichment, Image};
use musique_sdk::{Capability, Error, ErrorKind, Host, Level, Plugin};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use client::Client;
use settings::Settings;

/// The Discogs adapter.
#[derive(Debug)]
pub struct Discogs {
    settings: Settings,
    client: Client,
}

/// Where a collection walk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// The next page to read (1-based).
    page: u64,
}

impl Plugin for Discogs {
    const NAME: &'static str = "discogs";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CAPABILITIES: &'static [Capability] = &[Capability::Collection, Capability::Enrich];

    fn create(host: Host, config: Value) -> Result<Self, Error> {
        let settings = Settings::parse(config, &|name| std::env::var(name).ok())?;
        let client = Client::new(&settings)?;
        if settings.user.is_some() && settings.token.is_none() {
            host.log(Level::Warn, "no Discogs token: only a public collection can be read, without notes or images");
        }
        Ok(Discogs { settings, client })
    }

    fn call(&mut self, name: &str, payload: Value) -> Result<Value, Error> {
        match name {
            method::PAGE => reply(self.page(parse(payload)?)?),
            method::RELEASE => reply(self.release(parse(payload)?)?),
            musique_sdk::protocol::method::ENRICH => reply(self.enrich(parse(payload)?)?),
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

/// An answer that is JSON but not the expected shape: the service sent something else.
fn shape(what: &str, err: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Unavailable, format!("Discogs {what}: an answer of an unexpected shape ({err})"))
}

impl Discogs {
    /// Whose collection to read.
    fn user(&self) -> Result<&str, Error> {
        self.settings.user.as_deref().ok_or_else(|| {
            Error::new(ErrorKind::InvalidInput, "no Discogs user: set user (and token) in [adapters.discogs]")
        })
    }

    fn page(&mut self, request: PageRequest) -> Result<Page, Error> {
        let user = self.user()?.to_owned();
        let cursor: Cursor = match request.cursor {
            Some(cursor) => serde_json::from_value(cursor)
                .map_err(|err| Error::new(ErrorKind::InvalidInput, format!("not a Discogs cursor: {err}")))?,
            None => Cursor { page: 1 },
        };
        let folders: Vec<Folder> = if cursor.page == 1 {
            let answer = self.client.get(&format!("/users/{user}/collection/folders"), "folders")?;
            let folders: wire::Folders = serde_json::from_value(answer).map_err(|err| shape("folders", err))?;
            folders.folders.into_iter().map(Folder::from).collect()
        } else {
            Vec::new()
        };
        let path = format!(
            "/users/{user}/collection/folders/0/releases?sort=added&sort_order=asc&per_page={}&page={}",
            self.settings.per_page, cursor.page
        );
        let answer = self.client.get(&path, "collection")?;
        let page: wire::CollectionPage = serde_json::from_value(answer).map_err(|err| shape("collection", err))?;
        let mut items = Vec::with_capacity(page.releases.len());
        for release in page.releases {
            items.push(release.into_item().map_err(|err| shape("collection", err))?);
        }
        let pages = page.pagination.pages.max(page.pagination.page);
        let next = (cursor.page < pages).then(|| serde_json::json!(Cursor { page: cursor.page + 1 }));
        Ok(Page {
            folders,
            items,
            next,
            pages_done: cursor.page,
            pages_total: Some(pages),
            items_total: Some(page.pagination.items),
        })
    }

    fn enrich(&mut self, request: EnrichRequest) -> Result<Option<Enrichment>, Error> {
        if self.settings.token.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "no Discogs token: searching the Discogs database needs one (token in [adapters.discogs])",
            ));
        }
        let artist = request.artist.as_str();
        let query: Vec<(&str, &str)> = match &request.album {
            Some(album) => vec![("type", "release"), ("artist", artist), ("release_title", album), ("per_page", "5")],
            None => vec![("type", "artist"), ("q", artist), ("per_page", "5")],
        };
        let answer = self.client.get_with("/database/search", &query, "search")?;
        let found: wire::Search = serde_json::from_value(answer).map_err(|err| shape("search", err))?;
        let Some(first) = found.results.into_iter().next() else { return Ok(None) };
        // Releases are titled `Artist - Title`.
        let name = match &request.album {
            Some(_) => first.title.split_once(" - ").map_or(first.title.as_str(), |(_, title)| title).to_owned(),
            None => first.title.clone(),
        };
        let mut images = Vec::new();
        for (size, url) in [("small", first.thumb), ("extralarge", first.cover_image)] {
            if !url.trim().is_empty() && !url.contains("spacer.gif") {
                images.push(Image { size: size.to_owned(), url });
            }
        }
        let url = match first.uri.trim() {
            "" => None,
            uri if uri.starts_with("http") => Some(uri.to_owned()),
            uri => Some(format!("https://www.discogs.com{uri}")),
        };
        Ok(Some(Enrichment {
            name: musique_sdk::collection::without_suffix(&name).to_owned(),
            url,
            images,
            summary: None,
        }))
    }

    fn release(&mut self, request: ReleaseRequest) -> Result<Release, Error> {
        let what = format!("release {}", request.release_id);
        let answer = self.client.get(&format!("/releases/{}", request.release_id), &what)?;
        let release: wire::ReleaseWire = serde_json::from_value(answer).map_err(|err| shape(&what, err))?;
        Ok(Release::from(release))
    }
}
