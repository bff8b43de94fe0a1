//! Forwards a dynamic plugin's `tracing` events to the host log.
//!
//! A plugin library has its own copy of `tracing`, with its own global
//! dispatcher, which the host never sees. The entry symbol marks the library
//! as dynamic; `create` then installs a subscriber that hands each event to
//! the host's `log` callback of the live instance. Statically linked
//! plugins share the daemon's `tracing` and need none of this.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::abi::{self, HostV1};

/// Set by the entry symbol: this copy of the SDK lives in a dynamically loaded library.
pub(crate) static DYNAMIC: AtomicBool = AtomicBool::new(false);

/// The host of the live instance. Held while logging, so `destroy` waits for a log call to finish.
static HOST: Mutex<Option<AttachedHost>> = Mutex::new(None);

/// A host table that may be used from any thread.
#[derive(Clone, Copy)]
struct AttachedHost(HostV1);

// SAFETY: the ABI requires host callbacks and their context to be callable from any thread.
unsafe impl Send for AttachedHost {}

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Called by `create` in a dynamic plugin: logs go to this host from now on.
pub(crate) fn attach(host: HostV1) {
    if !DYNAMIC.load(Ordering::Relaxed) {
        return;
    }
    *HOST.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(AttachedHost(host));
    if !INSTALLED.swap(true, Ordering::AcqRel) {
        let _ = tracing::subscriber::set_global_default(Forwarder { next_span: AtomicU64::new(1) });
    }
}

/// Called by `destroy`: stop logging to a host whose context is going away.
pub(crate) fn detach(ctx: *mut std::ffi::c_void) {
    let mut host = HOST.lock().unwrap_or_else(|poison| poison.into_inner());
    if host.is_some_and(|host| host.0.ctx == ctx) {
        *host = None;
    }
}

struct Forwarder {
    next_span: AtomicU64,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl Subscriber for Forwarder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::DEBUG
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        let level = match *event.metadata().level() {
            Level::ERROR => abi::level::ERROR,
            Level::WARN => abi::level::WARN,
            Level::INFO => abi::level::INFO,
            Level::DEBUG => abi::level::DEBUG,
            Level::TRACE => abi::level::TRACE,
        };
        let text = format!("{}: {}", event.metadata().target(), message.0);
        let host = HOST.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(AttachedHost(host)) = host.as_ref() {
            // SAFETY: the host table is valid while attached; `detach` waits for this lock.
            unsafe { (host.log)(host.ctx, level, text.as_ptr(), text.len()) };
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
