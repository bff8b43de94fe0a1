//! Per-client request budgets in fixed windows aligned to the clock, as
//! ListenBrainz counts them: `limit` requests per `window` seconds for each key
//! (a credential, or the peer address for requests without one).

use std::sync::Mutex;

use rustc_hash::FxHashMap as HashMap;

/// Forget keys idle for a window once the table grows past this.
const PRUNE_ABOVE: usize = 10_000;

/// The budgets of every client.
pub(super) struct Limiter {
    limit: u32,
    window_s: u64,
    /// Key → (window start, requests in it).
    used: Mutex<HashMap<String, (u64, u32)>>,
}

/// Where a client stands after one request; becomes the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    pub(super) limit: u32,
    pub(super) remaining: u32,
    /// Seconds until the window resets.
    pub(super) reset_in: u64,
    /// Unix second at which it resets.
    pub(super) reset_at: u64,
    /// Whether this request is over the budget.
    pub(super) exceeded: bool,
}

impl Limiter {
    pub(super) fn new(limit: u32, window_s: u32) -> Limiter {
        Limiter { limit, window_s: u64::from(window_s.max(1)), used: Mutex::new(HashMap::default()) }
    }

    /// Counts one request of `key` at unix second `now`.
    pub(super) fn take(&self, key: &str, now: u64) -> Budget {
        let start = now - now % self.window_s;
        let mut used = self.used.lock().expect("limiter lock");
        if used.len() > PRUNE_ABOVE {
            used.retain(|_, (window, _)| *window == start);
        }
        let entry = used.entry(key.to_owned()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let count = entry.1;
        let reset_at = start + self.window_s;
        Budget {
            limit: self.limit,
            remaining: self.limit.saturating_sub(count),
            reset_in: reset_at - now,
            reset_at,
            exceeded: count > self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_per_key_and_window() {
        let limiter = Limiter::new(2, 10);
        let first = limiter.take("a", 1003);
        assert_eq!((first.remaining, first.reset_in, first.reset_at, first.exceeded), (1, 7, 1010, false));
        assert!(!limiter.take("a", 1004).exceeded);
        let third = limiter.take("a", 1009);
        assert!(third.exceeded);
        assert_eq!(third.remaining, 0);
        assert!(!limiter.take("b", 1009).exceeded, "keys have their own budget");
        let next = limiter.take("a", 1010);
        assert_eq!((next.remaining, next.reset_in, next.exceeded), (1, 10, false), "a new window starts afresh");
    }
}
