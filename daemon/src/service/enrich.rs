//! Enrichment: images and summaries of artists and albums from the adapters
//! that can `enrich` (Last.fm), cached in the store and fetched again only
//! when stale. New albums are enriched in the background: album ids only
//! grow, so a stored "last album done" is the whole queue, and it survives
//! restarts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use musique_sdk::ErrorKind;
use musique_sdk::protocol::{EnrichRequest, Enrichment, method};

use super::Service;
use super::adapters::plugin_error;
use crate::clock;
use crate::error::{Error, Result};
use crate::plugins::{PluginCallError, PluginState};
use crate::store::records::{EnrichmentRecord, ImageRecord};
use crate::store::{Kind, Put};

/// How long what was found stays fresh.
const FRESH_FOUND_MS: i64 = 30 * 24 * 3600 * 1000;
/// How long a miss is remembered.
const FRESH_MISS_MS: i64 = 7 * 24 * 3600 * 1000;
/// The background enricher's stored position: the last album id it handled.
const CURSOR: (&str, &str) = ("enrich", "album-cursor");
/// The background enricher pauses this long when adapters cannot be used (no credentials).
const PAUSE: Duration = Duration::from_secs(600);

/// An enrichment as the service answers it.
pub(crate) struct Enriched {
    pub(crate) kind: Kind,
    pub(crate) record: EnrichmentRecord,
    pub(crate) cached: bool,
}

/// Why an enrichment failed.
enum Failure {
    /// Bad input, or the store failed.
    Service(Error),
    /// The adapter failed.
    Adapter(PluginCallError),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Service(error)
    }
}

impl Service {
    /// What is known about an artist (or an album of theirs); fetched when missing or stale.
    pub(crate) fn enrich(&self, artist: &str, album: Option<&str>, refresh: bool) -> Result<Enriched> {
        self.try_enrich(artist, album, refresh).map_err(|failure| match failure {
            Failure::Service(error) => error,
            Failure::Adapter(error) => plugin_error(error),
        })
    }

    fn try_enrich(&self, artist: &str, album: Option<&str>, refresh: bool) -> std::result::Result<Enriched, Failure> {
        let artist = artist.trim();
        let album = album.map(str::trim).filter(|album| !album.is_empty());
        if artist.is_empty() {
            return Err(Error::invalid("`artist` must not be empty").into());
        }
        let (kind, key) = match album {
            Some(album) => (Kind::Album, self.album_key(artist, album)),
            None => {
                let credit = crate::identity::split_credit(artist, "", &self.state.separators);
                (Kind::Artist, credit.primary.key)
            }
        };
        if !refresh
            && let Some(record) = self.state.store.read()?.enrichment(kind, &key)?
            && is_fresh(&record)
        {
            return Ok(Enriched { kind, record, cached: true });
        }
        let adapter = self
            .enrich_adapter()
            .ok_or_else(|| Error::invalid("no running adapter can enrich (Last.fm does: see `musiquectl plugins`)"))?;
        let request = EnrichRequest { artist: artist.to_owned(), album: album.map(str::to_owned) };
        let value = self
            .state
            .plugins
            .call(&adapter, method::ENRICH, serde_json::to_value(request).expect("JSON"))
            .map_err(Failure::Adapter)?;
        let found: Option<Enrichment> = serde_json::from_value(value)
            .map_err(|err| Error::invalid(format!("the {adapter} adapter answered `enrich` wrongly: {err}")))?;
        let record = EnrichmentRecord {
            source: adapter,
            fetched_at_ms: clock::now_ms(),
            found: found.is_some(),
            name: found.as_ref().map(|found| found.name.clone()).unwrap_or_default(),
            url: found.as_ref().and_then(|found| found.url.clone()),
            images: found
                .as_ref()
                .map(|found| {
                    found
                        .images
                        .iter()
                        .map(|image| ImageRecord { size: image.size.clone(), url: image.url.clone() })
                        .collect()
                })
                .unwrap_or_default(),
            summary: found.and_then(|found| found.summary),
        };
        self.state.store.put_blocking(vec![Put::Enrichment { kind, key, record: record.clone() }])?;
        Ok(Enriched { kind, record, cached: false })
    }

    /// The first running adapter that can enrich.
    fn enrich_adapter(&self) -> Option<String> {
        self.state
            .plugins
            .list()
            .into_iter()
            .find(|status| {
                status.state == PluginState::Running
                    && status.capabilities.iter().any(|capability| capability == "enrich")
            })
            .map(|status| status.name)
    }
}

fn is_fresh(record: &EnrichmentRecord) -> bool {
    let age = clock::now_ms() - record.fetched_at_ms;
    age < if record.found { FRESH_FOUND_MS } else { FRESH_MISS_MS }
}

/// The background enricher of new albums. It waits while imports run, so they get the whole request budget.
#[derive(Default)]
pub(crate) struct Enricher {
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Enricher {
    pub(crate) fn start(&self, service: Service) {
        let stop = self.stop.clone();
        let spawned = std::thread::Builder::new().name("enricher".into()).spawn(move || run(&service, &stop));
        match spawned {
            Ok(thread) => *self.thread.lock().expect("enricher lock") = Some(thread),
            Err(err) => tracing::warn!(error = %err, "cannot start the enricher"),
        }
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.lock().expect("enricher lock").take() {
            let _ = thread.join();
        }
    }
}

fn run(service: &Service, stop: &AtomicBool) {
    let store = service.store().clone();
    while !stop.load(Ordering::Relaxed) {
        let seen = store.last_seq();
        match enrich_new_albums(service, stop) {
            Ok(true) => continue,
            Ok(false) => store.wait_for_change(seen, Duration::from_secs(2)),
            Err(reason) => {
                tracing::info!(%reason, "background enrichment paused for {} minutes", PAUSE.as_secs() / 60);
                let _ = crate::retry::sleep_unless(PAUSE, stop);
            }
        }
    }
}

/// Enriches albums added since the stored position (and their artists). `Ok(true)`
/// when it did some work, `Err` when adapters cannot be used now.
fn enrich_new_albums(service: &Service, stop: &AtomicBool) -> std::result::Result<bool, String> {
    if service.enrich_adapter().is_none() {
        return Ok(false);
    }
    let store = service.store();
    let reader = store.read().map_err(|err| err.to_string())?;
    let cursor = reader
        .service_state(CURSOR.0, CURSOR.1)
        .map_err(|err| err.to_string())?
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
        .map_or(0, u64::from_le_bytes);
    let mut done = cursor;
    while let Some(album) = reader.album(done + 1).map_err(|err| err.to_string())? {
        // Imports come first: they share the adapter's request budget.
        if stop.load(Ordering::Relaxed) || service.state.imports.running_count() > 0 {
            break;
        }
        let artist = reader.artist(album.artist_id).map_err(|err| err.to_string())?.map(|artist| artist.name);
        if let Some(artist) = artist {
            for album in [Some(album.title.as_str()), None] {
                match service.try_enrich(&artist, album, false) {
                    Ok(_) => {}
                    Err(Failure::Adapter(error)) => {
                        let kind = error.plugin_error().map(|error| error.kind);
                        if kind != Some(ErrorKind::InvalidInput) {
                            // No credentials, service down, plugin gone: stop here and keep the position.
                            save(store, done)?;
                            return Err(error.to_string());
                        }
                        tracing::debug!(%artist, error = %error, "enrichment refused");
                    }
                    Err(Failure::Service(error)) => tracing::debug!(%artist, %error, "enrichment failed"),
                }
            }
        }
        done += 1;
        if done - cursor >= 20 {
            break;
        }
    }
    if done == cursor {
        return Ok(false);
    }
    save(store, done)?;
    Ok(true)
}

fn save(store: &crate::store::Store, done: u64) -> std::result::Result<(), String> {
    let put = Put::Service { scope: CURSOR.0.to_owned(), key: CURSOR.1.to_owned(), value: done.to_le_bytes().to_vec() };
    store.put_blocking(vec![put]).map_err(|err| err.to_string())
}
