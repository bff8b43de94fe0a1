//! An adapter's sync watermark: the unix second before which every listen of
//! its history is stored. Trackers sweep from it; incremental imports start
//! from it. Both start a little before it ([`OVERLAP_S`]).

use crate::error::Result;
use crate::store::{Put, StateKey, Store};

/// Sweeps and incremental imports start this long before the watermark:
/// scrobbles can reach a service some time after they started (submitted at
/// the end of the play, or late from a phone that was offline for a while).
pub(crate) const OVERLAP_S: i64 = 15 * 60;

/// The watermark of an adapter, when it has one.
pub(crate) fn watermark(store: &Store, adapter: &str) -> Result<Option<i64>> {
    store.read()?.state(&StateKey::SyncWatermark(adapter.to_owned()))
}

/// The put that moves an adapter's watermark (in the commit of what it covers).
pub(crate) fn watermark_put(adapter: &str, at: i64) -> Put {
    Put::state(StateKey::SyncWatermark(adapter.to_owned()), &at)
}

/// Where a sweep or an incremental import starts.
pub(crate) fn sweep_start(watermark: i64) -> i64 {
    (watermark - OVERLAP_S).max(0)
}
