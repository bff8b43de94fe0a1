//! Enrichment: images and summaries of artists and albums from the adapters
//! that can `enrich` (Last.fm, Discogs), every one asked and their answers
//! merged, cached in the store and fetched again only when stale. New albums are enriched in the background: album ids only
//! grow, so a stored "last album done" is the whole queue, and it survives
//! restarts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use musique_sdk::ErrorKind;
use musique_sdk::protocol::{EnrichRequest, Enrichment, method};

use super::{Adapters, plugin_error};
use crate::error::{Error, Result};
use crate::plugins::PluginCallError;
use crate::store::records::{EnrichmentRecord, ImageRecord};
use crate::store::{Kind, Put, StateKey};

/// How long what was found stays fresh.
const FRESH_FOUND_MS: i64 = 30 * 24 * 3600 * 1000;
/// How long a miss is remembered.
const FRESH_MISS_MS: i64 = 7 * 24 * 3600 * 1000;
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
    /// Every adapter asked failed (named, in the order asked).
    Adapters(Vec<(String, PluginCallError)>),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Service(error)
    }
}

impl Adapters {
    /// What is known about an artist (or an album of theirs); fetched when missing or stale.
    pub(crate) fn enrich(&self, artist: &str, album: Option<&str>, refresh: bool) -> Result<Enriched> {
        self.try_enrich(artist, album, refresh).map_err(|failure| match failure {
            Failure::Service(error) => error,
            Failure::Adapters(mut failures) => {
                let retryable = failures.iter().any(|(_, error)| {
                    error
                        .plugin_error()
                        .is_some_and(|error| matches!(error.kind, ErrorKind::RateLimited | ErrorKind::Unavailable))
                });
                if failures.len() == 1 || retryable {
                    let (adapter, error) = failures.swap_remove(0);
                    return plugin_error(&adapter, error);
                }
                // Each says what it lacks (a key, a token): say it all.
                let reasons: Vec<String> =
                    failures.iter().map(|(adapter, error)| format!("{adapter}: {error}")).collect();
                Error::invalid(reasons.join("; "))
            }
        })
    }

    fn try_enrich(&self, artist: &str, album: Option<&str>, refresh: bool) -> std::result::Result<Enriched, Failure> {
        let artist = artist.trim();
        let album = album.map(str::trim).filter(|album| !album.is_empty());
        if artist.is_empty() {
            return Err(Error::invalid("`artist` must not be empty").into());
        }
        let library = &self.state.library;
        let (kind, key) = match album {
            Some(album) => (Kind::Album, library.album_key(artist, album)),
            None => (Kind::Artist, library.artist_key(artist)),
        };
        let now_ms = self.state.clock.now_ms();
        if !refresh
            && let Some(record) = self.state.store.read()?.enrichment(kind, &key)?
            && is_fresh(&record, now_ms)
        {
            return Ok(Enriched { kind, record, cached: true });
        }
        let adapters = self.enrich_adapters();
        if adapters.is_empty() {
            return Err(Error::invalid(
                "no running adapter can enrich (Last.fm and Discogs do: see `musiquectl plugins`)",
            )
            .into());
        }
        let request = EnrichRequest { artist: artist.to_owned(), album: album.map(str::to_owned) };
        let request = serde_json::to_value(request).expect("JSON");
        // Every adapter is asked; what the first to know says comes first, and images add up.
        let mut answered: Vec<String> = Vec::new();
        let mut found: Vec<Enrichment> = Vec::new();
        let mut failures: Vec<(String, PluginCallError)> = Vec::new();
        for adapter in adapters {
            let value = match self.state.plugins.call(&adapter, method::ENRICH, request.clone()) {
                Ok(value) => value,
                Err(error) => {
                    failures.push((adapter, error));
                    continue;
                }
            };
            let one: Option<Enrichment> = serde_json::from_value(value).map_err(|err| {
                Error::Internal(crate::error::InternalError::AdapterReply {
                    adapter: adapter.clone(),
                    method: method::ENRICH.to_owned(),
                    message: err.to_string(),
                })
            })?;
            answered.push(adapter);
            found.extend(one);
        }
        if answered.is_empty() {
            return Err(Failure::Adapters(failures));
        }
        let first = |pick: fn(&Enrichment) -> Option<String>| found.iter().find_map(pick);
        let mut images: Vec<ImageRecord> = Vec::new();
        for image in found.iter().flat_map(|found| &found.images) {
            if !images.iter().any(|known| known.url == image.url && known.size == image.size) {
                images.push(ImageRecord { size: image.size.clone(), url: image.url.clone() });
            }
        }
        let record = EnrichmentRecord {
            source: answered.join(", "),
            fetched_at_ms: now_ms,
            found: !found.is_empty(),
            name: first(|found| Some(found.name.clone()).filter(|name| !name.is_empty())).unwrap_or_default(),
            url: first(|found| found.url.clone()),
            images,
            summary: first(|found| found.summary.clone()),
        };
        self.state.store.put_blocking(vec![Put::Enrichment { kind, key, record: record.clone() }])?;
        Ok(Enriched { kind, record, cached: false })
    }

    /// The running adapters that can enrich, Last.fm first (its summaries lead), then by name.
    fn enrich_adapters(&self) -> Vec<String> {
        let mut adapters = self.with_capability(musique_sdk::Capability::Enrich);
        adapters.sort_by_key(|name| (name != "lastfm", name.clone()));
        adapters.dedup();
        adapters
    }
}

fn is_fresh(record: &EnrichmentRecord, now_ms: i64) -> bool {
    let age = now_ms - record.fetched_at_ms;
    age < if record.found { FRESH_FOUND_MS } else { FRESH_MISS_MS }
}

/// The background enricher of new albums. It waits while imports run, so they get the whole request budget.
#[derive(Default)]
pub(crate) struct Enricher {
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Enricher {
    pub(crate) fn start(&self, adapters: Adapters) {
        let stop = self.stop.clone();
        let spawned = std::thread::Builder::new().name("enricher".into()).spawn(move || run(&adapters, &stop));
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

fn run(adapters: &Adapters, stop: &AtomicBool) {
    let store = adapters.state.store.clone();
    while !stop.load(Ordering::Relaxed) {
        let seen = store.last_seq();
        match enrich_new_albums(adapters, stop) {
            Ok(true) => continue,
            Ok(false) => store.wait_for_change(seen, Duration::from_secs(2)),
            Err(reason) => {
                tracing::info!(%reason, "background enrichment paused for {} minutes", PAUSE.as_secs() / 60);
                let _ = super::retry::sleep_unless(PAUSE, stop);
            }
        }
    }
}

/// Enriches albums added since the stored position (and their artists). `Ok(true)`
/// when it did some work, `Err` when adapters cannot be used now (the error says why).
fn enrich_new_albums(adapters: &Adapters, stop: &AtomicBool) -> Result<bool> {
    if adapters.enrich_adapters().is_empty() {
        return Ok(false);
    }
    let store = &adapters.state.store;
    let reader = store.read()?;
    let cursor = reader.state::<u64>(&StateKey::EnricherPosition)?.unwrap_or(0);
    let mut done = cursor;
    while let Some(album) = reader.album(done + 1)? {
        // Imports come first: they share the adapter's request budget.
        if stop.load(Ordering::Relaxed) || adapters.state.runs.running_count() > 0 {
            break;
        }
        let artist = reader.artist(album.artist_id)?.map(|artist| artist.name);
        if let Some(artist) = artist {
            for album in [Some(album.title.as_str()), None] {
                match adapters.try_enrich(&artist, album, false) {
                    Ok(_) => {}
                    Err(Failure::Adapters(mut failures)) => {
                        let stopping = failures.iter().position(|(_, error)| {
                            error.plugin_error().map(|error| error.kind) != Some(ErrorKind::InvalidInput)
                        });
                        if let Some(index) = stopping {
                            // No credentials, service down, plugin gone: stop here and keep the position.
                            save(store, done)?;
                            let (adapter, error) = failures.swap_remove(index);
                            return Err(plugin_error(&adapter, error));
                        }
                        tracing::debug!(%artist, "enrichment refused by every adapter");
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

fn save(store: &crate::store::Store, done: u64) -> Result<()> {
    store.put_blocking(vec![Put::state(StateKey::EnricherPosition, &done)])
}
