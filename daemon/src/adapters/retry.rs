//! Calls into adapters that reach remote services, retried when the failure
//! is worth another try (rate limited, unavailable: HTTP 5xx, timeouts, cannot
//! connect), with exponential backoff and jitter, a bounded number of times.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use musique_sdk::ErrorKind;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::plugins::PluginHost;

/// How failed requests are retried (`[import] retry_*`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub(crate) tries: u32,
    pub(crate) base: Duration,
    pub(crate) max: Duration,
}

impl RetryPolicy {
    pub(crate) fn from_config(config: &musique_config::ImportConfig) -> RetryPolicy {
        RetryPolicy {
            tries: config.retry_tries,
            base: Duration::from_millis(config.retry_base_ms),
            max: Duration::from_millis(config.retry_max_ms),
        }
    }

    /// The wait before try `attempt + 1` (after `attempt` failures): doubling from
    /// `base`, capped at `max`, then a random half of it added or not ("equal jitter").
    pub(crate) fn delay(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        if let Some(asked) = asked {
            return asked.min(self.max);
        }
        let doubled = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20)).min(self.max);
        let half = doubled / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Why a retried call gave up.
#[derive(Debug)]
pub(crate) enum GiveUp {
    /// Stop was asked for while waiting.
    Cancelled,
    /// A failure not worth retrying, or the last of the tries.
    Failed(String),
}

/// Calls `method` on `adapter` until it answers, a failure is final, tries run
/// out, or `cancel` is set. `on_retry` hears each retried failure.
pub(crate) fn call<T: DeserializeOwned>(
    plugins: &PluginHost,
    adapter: &str,
    method: &str,
    payload: &impl Serialize,
    policy: RetryPolicy,
    cancel: &AtomicBool,
    on_retry: &mut dyn FnMut(u32, &str),
) -> Result<T, GiveUp> {
    call_unless_refused(plugins, adapter, method, payload, policy, cancel, on_retry)?.map_err(GiveUp::Failed)
}

/// [`call`], telling apart the adapter refusing the input (`invalid_input`, such
/// as a thing the service does not have): `Ok(Err(why))`, for the caller to
/// skip that one thing.
pub(crate) fn call_unless_refused<T: DeserializeOwned>(
    plugins: &PluginHost,
    adapter: &str,
    method: &str,
    payload: &impl Serialize,
    policy: RetryPolicy,
    cancel: &AtomicBool,
    on_retry: &mut dyn FnMut(u32, &str),
) -> Result<Result<T, String>, GiveUp> {
    let payload = serde_json::to_value(payload).map_err(|err| GiveUp::Failed(err.to_string()))?;
    let mut attempt = 0;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(GiveUp::Cancelled);
        }
        let error = match plugins.call(adapter, method, payload.clone()) {
            Ok(value) => {
                return serde_json::from_value(value).map(Ok).map_err(|err| {
                    GiveUp::Failed(format!("the {adapter} adapter answered `{method}` wrongly: {err}"))
                });
            }
            Err(error) => error,
        };
        attempt += 1;
        let retryable = error
            .plugin_error()
            .is_some_and(|error| matches!(error.kind, ErrorKind::RateLimited | ErrorKind::Unavailable));
        if error.plugin_error().is_some_and(|error| error.kind == ErrorKind::InvalidInput) {
            return Ok(Err(error.to_string()));
        }
        if !retryable {
            return Err(GiveUp::Failed(error.to_string()));
        }
        if attempt >= policy.tries {
            return Err(GiveUp::Failed(format!("{error} (gave up after {attempt} tries)")));
        }
        let asked = error.plugin_error().and_then(|error| error.retry_after_ms).map(Duration::from_millis);
        on_retry(attempt, &error.to_string());
        sleep_unless(policy.delay(attempt, asked), cancel)?;
    }
}

/// Sleeps, waking early (with `Cancelled`) when `cancel` is set.
pub(crate) fn sleep_unless(duration: Duration, cancel: &AtomicBool) -> Result<(), GiveUp> {
    let deadline = std::time::Instant::now() + duration;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(GiveUp::Cancelled);
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_and_respect_the_cap() {
        let policy = RetryPolicy { tries: 8, base: Duration::from_millis(100), max: Duration::from_millis(1000) };
        for _ in 0..100 {
            let first = policy.delay(1, None);
            assert!((50..=100).contains(&first.as_millis()), "{first:?}");
            let third = policy.delay(3, None);
            assert!((200..=400).contains(&third.as_millis()), "{third:?}");
            let late = policy.delay(30, None);
            assert!((500..=1000).contains(&late.as_millis()), "{late:?}");
        }
        assert_eq!(policy.delay(1, Some(Duration::from_millis(5))), Duration::from_millis(5));
        assert_eq!(policy.delay(1, Some(Duration::from_secs(60))), Duration::from_millis(1000));
    }
}
