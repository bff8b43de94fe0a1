//! The in-process harness: the domain handles on a temporary directory with a
//! clock the test sets, no daemon process, no socket. Core edge cases are
//! tested through it, data-driven and fast.

use std::time::Duration;

use crate::clock::Clock;
use crate::events::EventBus;
use crate::library::Library;
use crate::store::Store;

/// Handles on a private temporary store and index.
pub(crate) struct Harness {
    pub(crate) library: Library,
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    index: crate::index::Index,
    /// Removed when the harness drops.
    _dir: tempfile::TempDir,
}

impl Harness {
    /// A harness whose clock stands at `now` (RFC 3339 or a date).
    pub(crate) fn at(now: &str) -> Harness {
        let now_s = crate::clock::parse_user_time_s(now).expect("a time");
        let clock = Clock::at_ms(now_s * 1000);
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Store::open(dir.path(), 8, clock.clone()).expect("open store");
        let index =
            crate::index::open(&dir.path().join("index"), &store, Duration::from_millis(20)).expect("open index");
        let library = Library::new(store.clone(), index.clone(), EventBus::default(), Vec::new(), clock.clone());
        Harness { library, store, clock, index, _dir: dir }
    }

    /// The data directory.
    pub(crate) fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Waits (boundedly) until the index holds every committed change.
    pub(crate) fn wait_indexed(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.index.indexed_seq() < self.store.last_seq() {
            assert!(std::time::Instant::now() < deadline, "the index did not catch up");
            self.store.wait_for_change(self.store.last_seq(), Duration::from_millis(20));
            std::thread::yield_now();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.index.stop();
        self.store.close();
    }
}
