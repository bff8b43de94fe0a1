//! The plugin author's side: the [`Plugin`] trait, the [`Host`] handle, the
//! [`Error`] type, and the C shims `export_plugin!` generates, which catch
//! every panic and answer `hello` for the author.

use std::ffi::{CString, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use serde_json::Value;

use crate::Capability;
use crate::abi::{self, Buf, HostV1, PluginV1, Status};
use crate::protocol::{self, ErrorKind, ErrorReply, Event, Hello, HelloReply, ProtocolVersion};

/// An adapter. Implement it, then `musique_sdk::export_plugin!(MyPlugin)`.
pub trait Plugin: Sized + Send + 'static {
    /// A short, unique name (`lastfm`, `roon`): the key of its `[adapters.<name>]` config table.
    const NAME: &'static str;
    /// The plugin's version, usually `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;
    /// What it can do.
    const CAPABILITIES: &'static [Capability];

    /// Creates an instance from its config table (JSON); keep `host` to log, emit and store state.
    fn create(host: Host, config: Value) -> Result<Self, Error>;

    /// Answers a method call. Unknown methods should return [`Error::unknown_method`].
    fn call(&mut self, method: &str, payload: Value) -> Result<Value, Error>;
}

/// An error a plugin returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What kind, so the host can act (retry later, ask for credentials, …).
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
    /// For [`ErrorKind::RateLimited`]: how long to wait, in milliseconds.
    pub retry_after_ms: Option<u64>,
}

impl Error {
    /// An error of a kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), retry_after_ms: None }
    }

    /// The method is not one this plugin has.
    pub fn unknown_method(method: &str) -> Error {
        Error::new(ErrorKind::UnknownMethod, format!("unknown method `{method}`"))
    }

    /// The remote service asked to wait.
    pub fn rate_limited(retry_after_ms: u64, message: impl Into<String>) -> Error {
        Error { kind: ErrorKind::RateLimited, message: message.into(), retry_after_ms: Some(retry_after_ms) }
    }

    pub(crate) fn reply(&self) -> ErrorReply {
        ErrorReply { kind: self.kind, message: self.message.clone(), retry_after_ms: self.retry_after_ms }
    }

    pub(crate) fn from_reply(reply: ErrorReply) -> Error {
        Error { kind: reply.kind, message: reply.message, retry_after_ms: reply.retry_after_ms }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

/// Log levels for [`Host::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Worth knowing.
    Info,
    /// Detail for debugging.
    Debug,
    /// Even more detail.
    Trace,
}

impl Level {
    pub(crate) fn to_raw(self) -> u32 {
        match self {
            Level::Error => abi::level::ERROR,
            Level::Warn => abi::level::WARN,
            Level::Info => abi::level::INFO,
            Level::Debug => abi::level::DEBUG,
            Level::Trace => abi::level::TRACE,
        }
    }

    /// The level of a raw ABI value (unknown values read as `Info`).
    pub fn from_raw(raw: u32) -> Level {
        match raw {
            abi::level::ERROR => Level::Error,
            abi::level::WARN => Level::Warn,
            abi::level::DEBUG => Level::Debug,
            abi::level::TRACE => Level::Trace,
            _ => Level::Info,
        }
    }
}

/// The host, as a plugin sees it. Cheap to clone; usable from any thread.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    raw: HostV1,
}

// SAFETY: the host promises its callbacks and context are thread-safe for the instance's life.
unsafe impl Send for Host {}
// SAFETY: as above.
unsafe impl Sync for Host {}

impl Host {
    /// Writes to the host's log.
    pub fn log(&self, level: Level, message: &str) {
        // SAFETY: the host table is valid while the instance lives; the message outlives the call.
        unsafe { (self.raw.log)(self.raw.ctx, level.to_raw(), message.as_ptr(), message.len()) }
    }

    /// Sends an event (listens, now playing, progress) to the host.
    pub fn emit(&self, event: &Event) -> Result<(), Error> {
        let json = serde_json::to_vec(event).map_err(|err| Error::new(ErrorKind::Internal, err.to_string()))?;
        // SAFETY: as in `log`.
        let status = unsafe { (self.raw.emit)(self.raw.ctx, json.as_ptr(), json.len()) };
        match status {
            abi::STATUS_OK => Ok(()),
            _ => Err(Error::new(ErrorKind::InvalidInput, "the host refused the event")),
        }
    }

    /// Reads a value of this plugin's own state.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        let mut out = Buf::EMPTY;
        // SAFETY: as in `log`; `out` is written by the host.
        let status = unsafe { (self.raw.kv_get)(self.raw.ctx, key.as_ptr(), key.len(), &mut out) };
        if status != abi::STATUS_OK {
            return None;
        }
        // SAFETY: the host filled `out`; we copy it, then give it back to the host to free.
        let value = unsafe { out.as_slice().to_vec() };
        // SAFETY: `out` came from this host.
        unsafe { (self.raw.free_buf)(self.raw.ctx, out) };
        Some(value)
    }

    /// Writes a value of this plugin's own state; an empty value deletes the key.
    pub fn kv_put(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        // SAFETY: as in `log`.
        let status = unsafe { (self.raw.kv_put)(self.raw.ctx, key.as_ptr(), key.len(), value.as_ptr(), value.len()) };
        match status {
            abi::STATUS_OK => Ok(()),
            _ => Err(Error::new(ErrorKind::Unavailable, format!("the host could not store `{key}`"))),
        }
    }

    /// The host's clock, unix milliseconds (tests can control it).
    pub fn now_ms(&self) -> i64 {
        // SAFETY: as in `log`.
        unsafe { (self.raw.now_ms)(self.raw.ctx) }
    }
}

/// The shims behind `export_plugin!`; not for direct use.
#[doc(hidden)]
pub mod __private {
    use super::*;

    /// The ABI table of a plugin type, built once.
    pub fn table<T: Plugin>() -> &'static PluginV1 {
        // One static per monomorphization is not possible, so tables are keyed by type name.
        static TABLES: OnceLock<std::sync::Mutex<Vec<(&'static str, &'static PluginV1)>>> = OnceLock::new();
        let key = std::any::type_name::<T>();
        let mut tables = TABLES.get_or_init(Default::default).lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some((_, table)) = tables.iter().find(|(name, _)| *name == key) {
            return table;
        }
        let leak = |text: &str| CString::new(text.replace('\0', "")).expect("no NUL").into_raw().cast_const();
        let table: &'static PluginV1 = Box::leak(Box::new(PluginV1 {
            abi_major: abi::ABI_MAJOR,
            abi_minor: abi::ABI_MINOR,
            struct_size: std::mem::size_of::<PluginV1>(),
            name: leak(T::NAME),
            version: leak(T::VERSION),
            create: create::<T>,
            call: call::<T>,
            free_buf,
            destroy: destroy::<T>,
        }));
        tables.push((key, table));
        table
    }

    /// Installed by the entry symbol of a dynamic plugin: a panic's message and
    /// place are kept for the shim to return, instead of being printed.
    pub fn install_panic_hook() {
        crate::forward::DYNAMIC.store(true, std::sync::atomic::Ordering::Relaxed);
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            std::panic::set_hook(Box::new(|info| {
                let location = info.location().map(|place| format!(" at {}:{}", place.file(), place.line()));
                LAST_PANIC.with(|last| *last.borrow_mut() = location);
            }));
        });
    }

    /// What an instance pointer points to: the plugin and the host context it was created with.
    struct Boxed<T> {
        plugin: T,
        host_ctx: *mut c_void,
    }

    thread_local! {
        static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    }

    fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        let place = LAST_PANIC.with(|last| last.borrow_mut().take()).unwrap_or_default();
        format!("plugin panicked{place}: {message}")
    }

    fn write(out: *mut Buf, bytes: Vec<u8>) {
        if !out.is_null() {
            // SAFETY: the host passes a valid, writable `Buf`.
            unsafe { out.write(Buf::from_vec(bytes)) };
        }
    }

    fn error_json(error: &Error) -> Vec<u8> {
        serde_json::to_vec(&error.reply()).unwrap_or_else(|_| b"{\"kind\":\"internal\",\"message\":\"?\"}".to_vec())
    }

    /// # Safety
    /// Called by the host per the ABI.
    unsafe extern "C" fn create<T: Plugin>(
        host: *const HostV1,
        config: *const u8,
        config_len: usize,
        instance: *mut *mut c_void,
        error: *mut Buf,
    ) -> Status {
        let result = catch_unwind(AssertUnwindSafe(|| {
            if host.is_null() || instance.is_null() {
                return Err(Error::new(ErrorKind::Protocol, "null host or instance pointer"));
            }
            // SAFETY: the host passes a valid table for the instance's life; it is copied here.
            let raw = unsafe { *host };
            if raw.struct_size < std::mem::size_of::<HostV1>() {
                return Err(Error::new(ErrorKind::Protocol, "the host table is older than this plugin needs"));
            }
            // SAFETY: the host passes `config_len` readable bytes.
            let config = unsafe { abi::raw_slice(config, config_len) };
            let config: Value = if config.is_empty() {
                Value::Object(Default::default())
            } else {
                serde_json::from_slice(config)
                    .map_err(|err| Error::new(ErrorKind::Protocol, format!("config is not JSON: {err}")))?
            };
            crate::forward::attach(raw);
            T::create(Host { raw }, config).map(|plugin| Boxed { plugin, host_ctx: raw.ctx })
        }));
        match result {
            Ok(Ok(boxed)) => {
                // SAFETY: checked non-null above.
                unsafe { instance.write(Box::into_raw(Box::new(boxed)).cast()) };
                abi::STATUS_OK
            }
            Ok(Err(err)) => {
                write(error, error_json(&err));
                abi::STATUS_ERROR
            }
            Err(payload) => {
                write(error, panic_message(payload.as_ref()).into_bytes());
                abi::STATUS_PANIC
            }
        }
    }

    /// # Safety
    /// Called by the host per the ABI, with an instance from `create`.
    unsafe extern "C" fn call<T: Plugin>(
        instance: *mut c_void,
        method: *const u8,
        method_len: usize,
        payload: *const u8,
        payload_len: usize,
        out: *mut Buf,
    ) -> Status {
        let result = catch_unwind(AssertUnwindSafe(|| {
            if instance.is_null() {
                return Err(Error::new(ErrorKind::Protocol, "null instance"));
            }
            // SAFETY: the host passes readable bytes of the given lengths.
            let (method, payload) =
                unsafe { (abi::raw_slice(method, method_len).to_vec(), abi::raw_slice(payload, payload_len).to_vec()) };
            let method = String::from_utf8(method)
                .map_err(|_| Error::new(ErrorKind::Protocol, "the method name is not UTF-8"))?;
            let payload: Value = if payload.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&payload)
                    .map_err(|err| Error::new(ErrorKind::Protocol, format!("payload is not JSON: {err}")))?
            };
            // SAFETY: the instance came from `create::<T>` and the host does not call it concurrently.
            let plugin = unsafe { &mut (*instance.cast::<Boxed<T>>()).plugin };
            if method == protocol::method::HELLO {
                return hello::<T>(payload);
            }
            plugin.call(&method, payload)
        }));
        match result {
            Ok(Ok(value)) => match serde_json::to_vec(&value) {
                Ok(json) => {
                    write(out, json);
                    abi::STATUS_OK
                }
                Err(err) => {
                    write(out, error_json(&Error::new(ErrorKind::Internal, err.to_string())));
                    abi::STATUS_ERROR
                }
            },
            Ok(Err(err)) => {
                write(out, error_json(&err));
                abi::STATUS_ERROR
            }
            Err(payload) => {
                write(out, panic_message(payload.as_ref()).into_bytes());
                abi::STATUS_PANIC
            }
        }
    }

    fn hello<T: Plugin>(payload: Value) -> Result<Value, Error> {
        let hello: Hello =
            serde_json::from_value(payload).map_err(|err| Error::new(ErrorKind::Protocol, format!("hello: {err}")))?;
        if hello.protocol.major != protocol::PROTOCOL_MAJOR {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "protocol {}.{} is not supported; this plugin speaks {}.x",
                    hello.protocol.major,
                    hello.protocol.minor,
                    protocol::PROTOCOL_MAJOR
                ),
            ));
        }
        let reply = HelloReply {
            protocol: ProtocolVersion::CURRENT,
            name: T::NAME.to_owned(),
            version: T::VERSION.to_owned(),
            capabilities: T::CAPABILITIES.to_vec(),
            features: Vec::new(),
        };
        serde_json::to_value(reply).map_err(|err| Error::new(ErrorKind::Internal, err.to_string()))
    }

    unsafe extern "C" fn free_buf(buf: Buf) {
        // SAFETY: the host gives back a buffer this plugin allocated with `Buf::from_vec`.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { buf.into_vec() })));
    }

    /// # Safety
    /// Called by the host once per instance from `create`.
    unsafe extern "C" fn destroy<T: Plugin>(instance: *mut c_void) {
        if instance.is_null() {
            return;
        }
        // SAFETY: the instance came from `create::<T>` and is destroyed once.
        let boxed = unsafe { Box::from_raw(instance.cast::<Boxed<T>>()) };
        crate::forward::detach(boxed.host_ctx);
        let _ = catch_unwind(AssertUnwindSafe(|| drop(boxed)));
    }
}

/// Exports a [`Plugin`] from a `cdylib` under the ABI's entry symbol.
///
/// The plugin crate must be built with `panic = "unwind"` (the default);
/// with `panic = "abort"` a plugin's panic would end musiqued, so the macro
/// refuses to build.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[cfg(not(panic = "unwind"))]
        compile_error!("musique plugins must be built with panic = \"unwind\": a panic would otherwise abort musiqued");

        /// The plugin's entry point for ABI major 1.
        #[unsafe(no_mangle)]
        pub extern "C" fn musique_plugin_entry_v1() -> *const $crate::abi::PluginV1 {
            $crate::__private::install_panic_hook();
            $crate::__private::table::<$plugin>()
        }
    };
}
