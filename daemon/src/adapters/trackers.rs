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
use serde::Serialize;

use super::Adapters;
use super::retry::{self, GiveUp};
use super::sync::{sweep_start, watermark, watermark_put};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::library::{Commit, Origin, SourceName};
use crate::store::records::TrackerRecord;
use crate::store::{Put, StateKey, StateScope};

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

impl Trackers {
    /// Starts a tracker for `adapter` (no-op when running) and stores that it runs.
    /// A player adapter's tracker needs no thread: it records the plays its reports make.
    pub(crate) fn start(&self, adapters: &Adapters, adapter: &str) -> Result<TrackerStatus> {
        if is_player(adapters, adapter) {
            let since =
                load(adapters, adapter)?.map(|stored| stored.since).unwrap_or_else(|| adapters.state.clock.now_s());
            adapters.state.store.put_blocking(vec![store_put(adapter, TrackerRecord { running: true, since })])?;
            adapters.state.players.set_tracking(adapter, true);
            tracing::info!(adapter, "tracker started");
            return Ok(adapters.state.players.tracker_status(adapter));
        }
        if !adapters.with_capability(musique_sdk::Capability::Live).iter().any(|name| name == adapter) {
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
        let store = &adapters.state.store;
        let stored = load(adapters, adapter)?;
        let since = stored.map(|stored| stored.since).unwrap_or_else(|| adapters.state.clock.now_s());
        store.put_blocking(vec![store_put(adapter, TrackerRecord { running: true, since })])?;
        let status = Arc::new(Mutex::new(TrackerStatus {
            adapter: adapter.to_owned(),
            running: true,
            ..TrackerStatus::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let poller = Poller {
            adapters: adapters.clone(),
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
    pub(crate) fn stop(&self, adapters: &Adapters, adapter: &str) -> Result<bool> {
        if is_player(adapters, adapter) {
            let since =
                load(adapters, adapter)?.map(|stored| stored.since).unwrap_or_else(|| adapters.state.clock.now_s());
            adapters.state.store.put_blocking(vec![store_put(adapter, TrackerRecord { running: false, since })])?;
            let was = adapters.state.players.tracking(adapter);
            adapters.state.players.set_tracking(adapter, false);
            tracing::info!(adapter, "tracker stopped");
            return Ok(was);
        }
        let tracker = self.running.lock().expect("trackers lock").remove(adapter);
        if let Some(stored) = load(adapters, adapter)? {
            adapters.state.store.put_blocking(vec![store_put(adapter, TrackerRecord { running: false, ..stored })])?;
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
    pub(crate) fn restore(&self, adapters: &Adapters) {
        let stored = adapters.state.store.read().and_then(|reader| reader.states::<TrackerRecord>(StateScope::Tracker));
        let stored = match stored {
            Ok(stored) => stored,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read stored trackers");
                return;
            }
        };
        for (adapter, record) in stored {
            // A player adapter tracks unless stopped; the others track once started.
            adapters.state.players.set_tracking(&adapter, record.running);
            if record.running
                && let Err(err) = self.start(adapters, &adapter)
            {
                tracing::warn!(adapter, error = %err, "cannot restart a tracker");
            }
        }
    }

    /// Every tracker that ran since the daemon started (player adapters' always), or one.
    pub(crate) fn status(&self, adapters: &Adapters, adapter: Option<&str>) -> Vec<TrackerStatus> {
        let mut all: BTreeMap<String, TrackerStatus> = self.stopped.lock().expect("stopped lock").clone();
        for name in adapters.with_capability(musique_sdk::Capability::Player) {
            let status = adapters.state.players.tracker_status(&name);
            all.insert(name, status);
        }
        for (name, tracker) in self.running.lock().expect("trackers lock").iter() {
            let mut status = tracker.status.lock().expect("status lock").clone();
            status.running = !tracker.thread.is_finished();
            all.insert(name.clone(), status);
        }
        all.into_values().filter(|status| adapter.is_none_or(|adapter| status.adapter == adapter)).collect()
    }
}

/// Whether `adapter` is a running player adapter (its tracking follows its reports).
fn is_player(adapters: &Adapters, adapter: &str) -> bool {
    adapters.with_capability(musique_sdk::Capability::Player).iter().any(|name| name == adapter)
}

fn load(adapters: &Adapters, adapter: &str) -> Result<Option<TrackerRecord>> {
    adapters.state.store.read()?.state(&StateKey::Tracker(adapter.to_owned()))
}

fn store_put(adapter: &str, record: TrackerRecord) -> Put {
    Put::state(StateKey::Tracker(adapter.to_owned()), &record)
}

/// One tracker's loop, on its thread.
struct Poller {
    adapters: Adapters,
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
                status.last_poll_ms = Some(self.adapters.state.clock.now_ms());
                match result {
                    Ok(()) => status.last_error = None,
                    Err(GiveUp::Cancelled) => break,
                    Err(GiveUp::Failed(reason)) => {
                        tracing::warn!(adapter = %self.adapter, %reason, "tracker poll failed");
                        status.last_error = Some(reason);
                    }
                }
            }
            let next = self.adapters.state.clock.now_ms() + interval.as_millis() as i64;
            self.status.lock().expect("status lock").next_poll_ms = Some(next);
            self.sleep(interval);
        }
        self.status.lock().expect("status lock").running = false;
    }

    fn call<T: serde::de::DeserializeOwned>(&self, method: &str, payload: &impl Serialize) -> Result<T, GiveUp> {
        let adapter = self.adapter.as_str();
        retry::call(
            &self.adapters.state.plugins,
            adapter,
            method,
            payload,
            self.adapters.state.retry,
            &self.stop,
            &mut |_, reason| tracing::debug!(adapter, %reason, "tracker request failed; retrying"),
        )
    }

    /// One poll: every page from the watermark on.
    fn sweep(&self) -> Result<(), GiveUp> {
        let failed = |err: Error| GiveUp::Failed(err.to_string());
        let state = &self.adapters.state;
        let mark = watermark(&state.store, &self.adapter).map_err(failed)?;
        let from = sweep_start(mark.unwrap_or(self.since));
        let mut intake = state.library.intake(&Origin::Tracker(SourceName::of_plugin(&self.adapter)));
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
            let mut listens = Vec::with_capacity(page.listens.len());
            for listen in &page.listens {
                let admitted = intake.admit(super::listen_of(listen.clone()));
                match admitted {
                    Ok(admitted) => {
                        newest = Some(newest.map_or(listen.listened_at, |newest| newest.max(listen.listened_at)));
                        listens.push(admitted);
                    }
                    Err(reason) => tracing::warn!(adapter = %self.adapter, %reason, "a tracked listen was refused"),
                }
            }
            let last = page.next.is_none();
            let puts = match newest {
                Some(newest) if last && Some(newest) != mark => vec![watermark_put(&self.adapter, newest)],
                _ => Vec::new(),
            };
            let commit = Commit { listens, run: None, puts };
            let outcome = state.library.commit(commit).and_then(|pending| pending.wait_blocking()).map_err(failed)?;
            let added = outcome.added();
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
                state.library.announce(&added);
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
            self.adapters.state.events.send(Event::NowPlaying {
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
