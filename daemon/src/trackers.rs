//! Live trackers: one thread per adapter that polls its `history.page` walk
//! for what was scrobbled since the adapter's sync watermark, records those
//! listens, and publishes what plays now.
//!
//! A poll is a sweep from the watermark (minus [`OVERLAP_S`], for scrobbles
//! that arrive late) to now; after downtime the same sweep simply has more
//! pages. The watermark moves only with the sweep's last page, in the same
//! commit, so a crash mid-sweep repeats the sweep (duplicates are recognised)
//! and never skips a page. Whether a tracker runs is stored, so trackers start
//! again with the daemon.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use musique_sdk::protocol::{HistoryPage, HistoryRequest, LiveConfig, NowPlaying, method};
use serde::{Deserialize, Serialize};

use crate::clock;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::import::{AdapterContext, track_identity, watermark, watermark_put};
use crate::retry::{self, GiveUp};
use crate::store::records::Provenance;
use crate::store::{PreparedListen, Put};

/// Scope of trackers' stored state.
const SCOPE: &str = "tracker";

/// Each sweep starts this long before the watermark: scrobbles can reach
/// Last.fm some time after they started (submitted at the end of the play, or
/// late from a phone that was offline for a short while).
pub(crate) const OVERLAP_S: i64 = 15 * 60;

/// What a tracker keeps across restarts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Stored {
    running: bool,
    /// When it first started (unix seconds): the sweep's start when there is no watermark yet.
    since: i64,
}

/// A tracker as `trackers.status` shows it.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrackerStatus {
    pub(crate) adapter: String,
    pub(crate) running: bool,
    pub(crate) last_poll_ms: Option<i64>,
    pub(crate) next_poll_ms: Option<i64>,
    pub(crate) last_error: Option<String>,
    /// The newest listen recorded: (artist, track, listened at in unix seconds).
    pub(crate) last_track: Option<(String, String, i64)>,
    pub(crate) now_playing: Option<NowPlaying>,
    /// Listens recorded since the tracker started.
    pub(crate) recorded: u64,
    pub(crate) polls: u64,
}

struct Tracker {
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<TrackerStatus>>,
    thread: JoinHandle<()>,
}

/// The running trackers.
#[derive(Default)]
pub(crate) struct Trackers {
    running: Mutex<BTreeMap<String, Tracker>>,
    /// Status of trackers that stopped, kept for `trackers.status`.
    stopped: Mutex<BTreeMap<String, TrackerStatus>>,
}

/// Announces recorded listens (by key) to subscribers.
pub(crate) type Announce = Arc<dyn Fn(&[(u64, u64)]) + Send + Sync>;

impl Trackers {
    /// Starts a tracker for `adapter` (no-op when running) and stores that it runs.
    pub(crate) fn start(&self, context: &AdapterContext, announce: Announce, adapter: &str) -> Result<TrackerStatus> {
        let live = context.plugins.list().into_iter().any(|status| {
            status.name == adapter
                && status.state == crate::plugins::PluginState::Running
                && status.capabilities.iter().any(|capability| capability == "live")
        });
        if !live {
            return Err(Error::invalid(format!(
                "no running adapter `{adapter}` can track live plays (see `musiquectl plugins`)"
            )));
        }
        let mut running = self.running.lock().expect("trackers lock");
        if let Some(tracker) = running.get(adapter)
            && !tracker.thread.is_finished()
        {
            return Ok(tracker.status.lock().expect("status lock").clone());
        }
        let stored = load(context, adapter)?;
        let since = stored.map(|stored| stored.since).unwrap_or_else(|| clock::now_ms() / 1000);
        context.store.put_blocking(vec![store_put(adapter, Stored { running: true, since })])?;
        let status = Arc::new(Mutex::new(TrackerStatus {
            adapter: adapter.to_owned(),
            running: true,
            ..TrackerStatus::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let poller = Poller {
            context: context.clone(),
            announce,
            adapter: adapter.to_owned(),
            since,
            stop: stop.clone(),
            status: status.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("tracker-{adapter}"))
            .spawn(move || poller.run())
            .map_err(crate::error::io_err("spawn", "tracker thread"))?;
        tracing::info!(adapter, "tracker started");
        let shown = status.lock().expect("status lock").clone();
        running.insert(adapter.to_owned(), Tracker { stop, status, thread });
        Ok(shown)
    }

    /// Stops a tracker and stores that it is stopped; `false` when it was not running.
    pub(crate) fn stop(&self, context: &AdapterContext, adapter: &str) -> Result<bool> {
        let tracker = self.running.lock().expect("trackers lock").remove(adapter);
        if let Some(stored) = load(context, adapter)? {
            context.store.put_blocking(vec![store_put(adapter, Stored { running: false, ..stored })])?;
        }
        let Some(tracker) = tracker else { return Ok(false) };
        self.halt(adapter, tracker);
        tracing::info!(adapter, "tracker stopped");
        Ok(true)
    }

    fn halt(&self, adapter: &str, tracker: Tracker) {
        tracker.stop.store(true, Ordering::Relaxed);
        let _ = tracker.thread.join();
        let mut status = tracker.status.lock().expect("status lock").clone();
        status.running = false;
        status.next_poll_ms = None;
        self.stopped.lock().expect("stopped lock").insert(adapter.to_owned(), status);
    }

    /// Stops every tracker without changing what is stored (they start again with the daemon).
    pub(crate) fn stop_all(&self) {
        let running = std::mem::take(&mut *self.running.lock().expect("trackers lock"));
        for (adapter, tracker) in running {
            self.halt(&adapter, tracker);
        }
    }

    /// Starts the trackers stored as running.
    pub(crate) fn restore(&self, context: &AdapterContext, announce: Announce) {
        let stored = match context.store.read().and_then(|reader| reader.service_states(SCOPE)) {
            Ok(stored) => stored,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read stored trackers");
                return;
            }
        };
        for (adapter, bytes) in stored {
            let running = serde_json::from_slice::<Stored>(&bytes).is_ok_and(|stored| stored.running);
            if running && let Err(err) = self.start(context, announce.clone(), &adapter) {
                tracing::warn!(adapter, error = %err, "cannot restart a tracker");
            }
        }
    }

    /// Every tracker that ran since the daemon started, or one.
    pub(crate) fn status(&self, adapter: Option<&str>) -> Vec<TrackerStatus> {
        let mut all: BTreeMap<String, TrackerStatus> = self.stopped.lock().expect("stopped lock").clone();
        for (name, tracker) in self.running.lock().expect("trackers lock").iter() {
            let mut status = tracker.status.lock().expect("status lock").clone();
            status.running = !tracker.thread.is_finished();
            all.insert(name.clone(), status);
        }
        all.into_values().filter(|status| adapter.is_none_or(|adapter| status.adapter == adapter)).collect()
    }
}

fn load(context: &AdapterContext, adapter: &str) -> Result<Option<Stored>> {
    let bytes = context.store.read()?.service_state(SCOPE, adapter)?;
    Ok(bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

fn store_put(adapter: &str, stored: Stored) -> Put {
    Put::Service {
        scope: SCOPE.to_owned(),
        key: adapter.to_owned(),
        value: serde_json::to_vec(&stored).expect("tracker state is JSON"),
    }
}

/// One tracker's loop, on its thread.
struct Poller {
    context: AdapterContext,
    announce: Announce,
    adapter: String,
    since: i64,
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<TrackerStatus>>,
}

impl Poller {
    fn run(self) {
        let mut interval = Duration::from_secs(30);
        let mut configured = false;
        while !self.stop.load(Ordering::Relaxed) {
            if !configured {
                match self.call::<LiveConfig>(method::LIVE_CONFIG, &serde_json::Value::Null) {
                    Ok(config) => {
                        interval = Duration::from_millis(config.poll_interval_ms.max(100));
                        configured = true;
                    }
                    Err(GiveUp::Cancelled) => break,
                    Err(GiveUp::Failed(reason)) => self.status.lock().expect("status lock").last_error = Some(reason),
                }
            }
            if configured {
                let result = self.sweep();
                let mut status = self.status.lock().expect("status lock");
                status.polls += 1;
                status.last_poll_ms = Some(clock::now_ms());
                match result {
                    Ok(()) => status.last_error = None,
                    Err(GiveUp::Cancelled) => break,
                    Err(GiveUp::Failed(reason)) => {
                        tracing::warn!(adapter = %self.adapter, %reason, "tracker poll failed");
                        status.last_error = Some(reason);
                    }
                }
            }
            let next = clock::now_ms() + interval.as_millis() as i64;
            self.status.lock().expect("status lock").next_poll_ms = Some(next);
            self.sleep(interval);
        }
        self.status.lock().expect("status lock").running = false;
    }

    fn call<T: serde::de::DeserializeOwned>(&self, method: &str, payload: &impl Serialize) -> Result<T, GiveUp> {
        let adapter = self.adapter.as_str();
        retry::call(
            &self.context.plugins,
            adapter,
            method,
            payload,
            self.context.retry,
            &self.stop,
            &mut |_, reason| tracing::debug!(adapter, %reason, "tracker request failed; retrying"),
        )
    }

    /// One poll: every page from the watermark on.
    fn sweep(&self) -> Result<(), GiveUp> {
        let failed = |err: Error| GiveUp::Failed(err.to_string());
        let mark = watermark(&self.context.store, &self.adapter).map_err(failed)?;
        let from = (mark.unwrap_or(self.since) - OVERLAP_S).max(0);
        let source = Arc::new(Provenance { source: self.adapter.clone(), import_run: None });
        let mut cursor = None;
        let mut newest = mark;
        let mut first = true;
        loop {
            let request = HistoryRequest { from: Some(from), to: None, cursor: cursor.take() };
            let page: HistoryPage = self.call(method::HISTORY_PAGE, &request)?;
            if first {
                first = false;
                self.now_playing(page.now_playing.clone());
            }
            let mut batch = Vec::with_capacity(page.listens.len());
            for listen in &page.listens {
                if listen.listened_at < 0 {
                    continue;
                }
                newest = Some(newest.map_or(listen.listened_at, |newest| newest.max(listen.listened_at)));
                batch.push(PreparedListen {
                    start_ms: listen.listened_at * 1000,
                    duration_ms: listen.duration_ms,
                    identity: Arc::new(track_identity(&listen.artist, &listen.track, &self.context.separators)),
                    album: listen.album.as_deref().map(|album| Arc::new(crate::identity::Name::new(album))),
                    source: source.clone(),
                    loved: listen.loved,
                });
            }
            let last = page.next.is_none();
            let puts = match newest {
                Some(newest) if last && Some(newest) != mark => vec![watermark_put(&self.adapter, newest)],
                _ => Vec::new(),
            };
            let outcome = self.context.store.ingest_blocking(batch, None, puts).map_err(failed)?;
            let added: Vec<(u64, u64)> = outcome.keys.iter().filter(|(_, new)| *new).map(|(key, _)| *key).collect();
            if !added.is_empty() {
                // The status first, so a subscriber that hears of a listen finds it in the status.
                {
                    let mut status = self.status.lock().expect("status lock");
                    status.recorded += added.len() as u64;
                    if let Some(newest) = page.listens.iter().max_by_key(|listen| listen.listened_at)
                        && status.last_track.as_ref().is_none_or(|(_, _, at)| *at <= newest.listened_at)
                    {
                        status.last_track = Some((newest.artist.clone(), newest.track.clone(), newest.listened_at));
                    }
                }
                (self.announce)(&added);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Publishes what plays now when it changed.
    fn now_playing(&self, now: Option<NowPlaying>) {
        let mut status = self.status.lock().expect("status lock");
        if status.now_playing == now {
            return;
        }
        status.now_playing = now.clone();
        if let Some(now) = now {
            self.context.events.send(Event::NowPlaying {
                source: self.adapter.clone(),
                artist: now.artist,
                track: now.track,
                album: now.album,
            });
        }
    }

    fn sleep(&self, duration: Duration) {
        // Woken early by a stop; the loop then sees it.
        let _ = retry::sleep_unless(duration, &self.stop);
    }
}
