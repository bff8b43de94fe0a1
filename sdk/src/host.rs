//! The host's side of the ABI: checking a plugin table, creating an
//! instance with host callbacks backed by [`HostServices`], calling it, and
//! turning statuses and buffers back into Rust values. musiqued and the test
//! kit both use it; a plugin never does.

use std::ffi::{CStr, c_void};
use std::sync::Arc;

use serde_json::Value;

use crate::abi::{self, Buf, HostV1, PluginV1, Status};
use crate::plugin::{Error, Level};
use crate::protocol::{ErrorKind, ErrorReply, Hello, HelloReply, ProtocolVersion, method};

/// What the host provides to a plugin instance. Called from the plugin's threads.
pub trait HostServices: Send + Sync + 'static {
    /// A log line from the plugin.
    fn log(&self, level: Level, message: &str);
    /// An event (JSON) from the plugin; `false` refuses it.
    fn emit(&self, event: &[u8]) -> bool;
    /// The plugin's stored value for `key`.
    fn kv_get(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores (or, when empty, deletes) the plugin's value for `key`; `false` on failure.
    fn kv_put(&self, key: &str, value: &[u8]) -> bool;
    /// The clock, unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// Why a plugin table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The table pointer is null.
    Null,
    /// Another ABI major.
    AbiMajor {
        /// The plugin's major.
        found: u32,
    },
    /// The table is smaller than ABI 1.0's.
    TooSmall {
        /// Its size.
        size: usize,
    },
    /// Name or version are not UTF-8 text.
    BadText,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Null => write!(formatter, "the entry point returned no table"),
            LoadError::AbiMajor { found } => {
                write!(formatter, "plugin ABI major {found} is not supported (this host speaks {})", abi::ABI_MAJOR)
            }
            LoadError::TooSmall { size } => write!(formatter, "plugin table of {size} bytes is too small for ABI 1.0"),
            LoadError::BadText => write!(formatter, "plugin name or version is not UTF-8"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A checked plugin table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    raw: &'static PluginV1,
}

impl Table {
    /// Checks a table: the ABI major first, then its size, then its strings.
    ///
    /// # Safety
    /// `raw` must be null or point to a table that stays valid for the life of the process
    /// (plugin libraries are never unloaded).
    pub unsafe fn check(raw: *const PluginV1) -> Result<Table, LoadError> {
        if raw.is_null() {
            return Err(LoadError::Null);
        }
        // SAFETY: non-null and valid per the caller; the major is the first field of every version.
        let abi_major = unsafe { raw.cast::<u32>().read() };
        if abi_major != abi::ABI_MAJOR {
            return Err(LoadError::AbiMajor { found: abi_major });
        }
        // SAFETY: ABI 1 tables start with major, minor and size.
        let table = unsafe { &*raw };
        if table.struct_size < std::mem::size_of::<PluginV1>() {
            return Err(LoadError::TooSmall { size: table.struct_size });
        }
        let table = Table { raw: table };
        if table.text(table.raw.name).is_none() || table.text(table.raw.version).is_none() {
            return Err(LoadError::BadText);
        }
        Ok(table)
    }

    fn text(&self, pointer: *const std::ffi::c_char) -> Option<&'static str> {
        if pointer.is_null() {
            return None;
        }
        // SAFETY: static NUL-terminated strings per the ABI.
        unsafe { CStr::from_ptr(pointer) }.to_str().ok()
    }

    /// The plugin's name.
    pub fn name(&self) -> &'static str {
        self.text(self.raw.name).unwrap_or_default()
    }

    /// The plugin's version.
    pub fn version(&self) -> &'static str {
        self.text(self.raw.version).unwrap_or_default()
    }

    /// The ABI version the plugin was built with.
    pub fn abi(&self) -> (u32, u32) {
        (self.raw.abi_major, self.raw.abi_minor)
    }

    /// Creates an instance with its JSON config.
    pub fn create(&self, services: Arc<dyn HostServices>, config: &Value) -> Result<Instance, CallError> {
        let context = Box::new(Context { services });
        let host = Box::new(HostV1 {
            struct_size: std::mem::size_of::<HostV1>(),
            ctx: std::ptr::from_ref(context.as_ref()).cast_mut().cast::<c_void>(),
            log: host_log,
            emit: host_emit,
            kv_get: host_kv_get,
            kv_put: host_kv_put,
            now_ms: host_now_ms,
            free_buf: host_free_buf,
        });
        let config = serde_json::to_vec(config)
            .map_err(|err| CallError::Plugin(Error::new(ErrorKind::Internal, err.to_string())))?;
        let mut instance: *mut c_void = std::ptr::null_mut();
        let mut error = Buf::EMPTY;
        // SAFETY: the table is checked; host and config outlive the call; the host table and
        // context live in the returned Instance as long as the plugin instance does.
        let status =
            unsafe { (self.raw.create)(host.as_ref(), config.as_ptr(), config.len(), &mut instance, &mut error) };
        let reply = self.take(error);
        match status {
            abi::STATUS_OK if !instance.is_null() => {
                Ok(Instance { table: *self, raw: instance, _host: host, _context: context })
            }
            abi::STATUS_OK => Err(CallError::Garbage("create returned no instance".to_owned())),
            other => Err(self.failure(other, reply)),
        }
    }

    /// Copies a plugin buffer and gives it back to the plugin.
    fn take(&self, buf: Buf) -> Vec<u8> {
        // SAFETY: the plugin filled `buf` (or left it empty); we copy before freeing it with its own allocator.
        let bytes = unsafe { buf.as_slice().to_vec() };
        if !buf.ptr.is_null() {
            // SAFETY: the buffer came from this plugin.
            unsafe { (self.raw.free_buf)(buf) };
        }
        bytes
    }

    fn failure(&self, status: Status, reply: Vec<u8>) -> CallError {
        match status {
            abi::STATUS_ERROR => match serde_json::from_slice::<ErrorReply>(&reply) {
                Ok(reply) => CallError::Plugin(Error::from_reply(reply)),
                Err(_) => CallError::Garbage(format!("unreadable error reply: {}", preview(&reply))),
            },
            abi::STATUS_PANIC => CallError::Panicked(String::from_utf8_lossy(&reply).into_owned()),
            other => CallError::Garbage(format!("unknown status {other}")),
        }
    }
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).into_owned();
    if bytes.len() > 120 { format!("{text}…") } else { text }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The plugin returned an error.
    Plugin(Error),
    /// The plugin panicked (it caught the panic; the host decides what to do with the plugin).
    Panicked(String),
    /// The plugin answered something that does not follow the protocol.
    Garbage(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Plugin(error) => write!(formatter, "{error}"),
            CallError::Panicked(message) => write!(formatter, "{message}"),
            CallError::Garbage(message) => write!(formatter, "protocol violation: {message}"),
        }
    }
}

impl std::error::Error for CallError {}

/// A live plugin instance. Not `Sync`: one call at a time.
pub struct Instance {
    table: Table,
    raw: *mut c_void,
    /// The host table the plugin copied; kept alive with the instance.
    _host: Box<HostV1>,
    /// What the callbacks' context points to.
    _context: Box<Context>,
}

// SAFETY: a plugin instance may move between threads; calls are serialized by `&mut self`.
unsafe impl Send for Instance {}

impl std::fmt::Debug for Instance {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Instance").field("plugin", &self.table.name()).finish()
    }
}

impl Instance {
    /// The table this instance came from.
    pub fn table(&self) -> Table {
        self.table
    }

    /// Calls a method with a JSON payload.
    pub fn call(&mut self, method: &str, payload: &Value) -> Result<Value, CallError> {
        let payload = serde_json::to_vec(payload)
            .map_err(|err| CallError::Plugin(Error::new(ErrorKind::Internal, err.to_string())))?;
        let mut out = Buf::EMPTY;
        // SAFETY: the instance is live and calls are serialized by `&mut self`.
        let status = unsafe {
            (self.table.raw.call)(self.raw, method.as_ptr(), method.len(), payload.as_ptr(), payload.len(), &mut out)
        };
        let reply = self.table.take(out);
        match status {
            abi::STATUS_OK => serde_json::from_slice(&reply)
                .map_err(|_| CallError::Garbage(format!("`{method}` answered with invalid JSON: {}", preview(&reply)))),
            other => Err(self.table.failure(other, reply)),
        }
    }

    /// The `hello` negotiation: the plugin must speak the host's protocol major.
    pub fn hello(&mut self) -> Result<HelloReply, CallError> {
        let hello = Hello { protocol: ProtocolVersion::CURRENT, features: Vec::new() };
        let reply = self.call(method::HELLO, &serde_json::to_value(hello).expect("hello serializes"))?;
        let reply: HelloReply =
            serde_json::from_value(reply).map_err(|err| CallError::Garbage(format!("hello reply: {err}")))?;
        if reply.protocol.major != ProtocolVersion::CURRENT.major {
            return Err(CallError::Garbage(format!("plugin answered hello with protocol {}.x", reply.protocol.major)));
        }
        Ok(reply)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: created by this table's `create`, destroyed once.
        unsafe { (self.table.raw.destroy)(self.raw) }
    }
}

struct Context {
    services: Arc<dyn HostServices>,
}

/// # Safety
/// `ctx` is the `Context` of a live instance.
unsafe fn services<'a>(ctx: *mut c_void) -> &'a dyn HostServices {
    // SAFETY: per the function's contract.
    unsafe { &*ctx.cast::<Context>() }.services.as_ref()
}

use crate::abi::raw_slice as bytes;

unsafe extern "C" fn host_log(ctx: *mut c_void, level: u32, message: *const u8, len: usize) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: called by the plugin per the ABI.
        let (services, message) = unsafe { (services(ctx), bytes(message, len)) };
        services.log(Level::from_raw(level), &String::from_utf8_lossy(message));
    });
}

unsafe extern "C" fn host_emit(ctx: *mut c_void, event: *const u8, len: usize) -> Status {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: called by the plugin per the ABI.
        let (services, event) = unsafe { (services(ctx), bytes(event, len)) };
        services.emit(event)
    });
    if matches!(result, Ok(true)) { abi::STATUS_OK } else { abi::STATUS_ERROR }
}

unsafe extern "C" fn host_kv_get(ctx: *mut c_void, key: *const u8, key_len: usize, out: *mut Buf) -> Status {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: called by the plugin per the ABI.
        let (services, key) = unsafe { (services(ctx), bytes(key, key_len)) };
        services.kv_get(&String::from_utf8_lossy(key))
    });
    match result {
        Ok(Some(value)) if !out.is_null() => {
            // SAFETY: the plugin passes a writable `Buf`; it gives it back through `host_free_buf`.
            unsafe { out.write(Buf::from_vec(value)) };
            abi::STATUS_OK
        }
        Ok(_) => abi::STATUS_NOT_FOUND,
        Err(_) => abi::STATUS_ERROR,
    }
}

unsafe extern "C" fn host_kv_put(
    ctx: *mut c_void,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> Status {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: called by the plugin per the ABI.
        let (services, key, value) = unsafe { (services(ctx), bytes(key, key_len), bytes(value, value_len)) };
        services.kv_put(&String::from_utf8_lossy(key), value)
    });
    if matches!(result, Ok(true)) { abi::STATUS_OK } else { abi::STATUS_ERROR }
}

unsafe extern "C" fn host_now_ms(ctx: *mut c_void) -> i64 {
    // SAFETY: called by the plugin per the ABI.
    std::panic::catch_unwind(|| unsafe { services(ctx) }.now_ms()).unwrap_or(0)
}

unsafe extern "C" fn host_free_buf(_ctx: *mut c_void, buf: Buf) {
    // SAFETY: the plugin gives back a buffer `host_kv_get` allocated.
    drop(unsafe { buf.into_vec() });
}
