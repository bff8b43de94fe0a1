//! The C ABI between musiqued and a plugin: the only frozen part of the SDK.
//!
//! A plugin library exports one symbol per ABI major, [`ENTRY_V1`], a
//! function returning a pointer to a static [`PluginV1`] table. The host
//! checks [`PluginV1::abi_major`] and [`PluginV1::struct_size`] before
//! reading anything else, then calls `create` with a [`HostV1`] table of
//! callbacks, and `call` with a method name and a JSON payload.
//!
//! Only `#[repr(C)]` plain data, raw pointers and `extern "C"` function
//! pointers cross the boundary, so host and plugin may be built by different
//! compilers. Each side frees only what it allocated: a [`Buf`] returned by
//! the plugin goes back through [`PluginV1::free_buf`], one returned by the
//! host through [`HostV1::free_buf`].
//!
//! Minor versions only append fields to the end of a table and bump
//! `abi_minor`; a reader checks `struct_size` before touching a field that a
//! minor version added.

use std::ffi::{c_char, c_void};

/// The ABI major version this crate speaks.
pub const ABI_MAJOR: u32 = 1;
/// The ABI minor version this crate speaks.
pub const ABI_MINOR: u32 = 0;
/// The symbol a plugin exports for ABI major 1: `extern "C" fn() -> *const PluginV1`.
pub const ENTRY_V1: &str = "musique_plugin_entry_v1";

/// What a call returned.
pub type Status = i32;
/// Success: the output buffer holds the JSON result.
pub const STATUS_OK: Status = 0;
/// The plugin reported an error: the output buffer holds a JSON [`crate::protocol::ErrorReply`].
pub const STATUS_ERROR: Status = 1;
/// The plugin panicked: the output buffer holds the panic message as UTF-8 text.
pub const STATUS_PANIC: Status = 2;
/// `kv_get` found no value for the key.
pub const STATUS_NOT_FOUND: Status = 3;

/// Log levels passed to [`HostV1::log`].
pub mod level {
    /// Errors.
    pub const ERROR: u32 = 1;
    /// Warnings.
    pub const WARN: u32 = 2;
    /// Information.
    pub const INFO: u32 = 3;
    /// Debugging detail.
    pub const DEBUG: u32 = 4;
    /// Tracing detail.
    pub const TRACE: u32 = 5;
}

/// Bytes allocated by one side and handed to the other, which must give them
/// back to the allocating side's `free_buf` once it has copied them.
#[repr(C)]
#[derive(Debug)]
pub struct Buf {
    /// Start of the bytes (null when empty).
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
    /// Allocated capacity, for the allocating side to rebuild its vector.
    pub cap: usize,
}

impl Buf {
    /// An empty buffer, owning nothing.
    pub const EMPTY: Buf = Buf { ptr: std::ptr::null_mut(), len: 0, cap: 0 };

    /// Hands a vector's memory over; only this side may free it (with [`Buf::into_vec`]).
    pub fn from_vec(bytes: Vec<u8>) -> Buf {
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        Buf { ptr: bytes.as_mut_ptr(), len: bytes.len(), cap: bytes.capacity() }
    }

    /// Takes the memory back.
    ///
    /// # Safety
    /// The buffer must come from [`Buf::from_vec`] on this side of the boundary, and not have been taken back before.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        if self.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: the caller guarantees the parts come from a Vec allocated here.
        unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) }
    }

    /// Views the bytes.
    ///
    /// # Safety
    /// `ptr` must be valid for `len` bytes for the returned lifetime.
    pub unsafe fn as_slice(&self) -> &[u8] {
        if self.ptr.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Views `len` bytes at `ptr` (empty for a null pointer).
///
/// # Safety
/// `ptr` must be null or readable for `len` bytes for the returned lifetime.
pub(crate) unsafe fn raw_slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: per the function's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// What the host offers a plugin. The plugin copies it at `create` and may
/// call it from any thread while the instance lives.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HostV1 {
    /// Size of this struct as the host knows it.
    pub struct_size: usize,
    /// The host's context, passed back to every callback.
    pub ctx: *mut c_void,
    /// Writes a UTF-8 message to the host log at a [`level`].
    pub log: unsafe extern "C" fn(ctx: *mut c_void, level: u32, message: *const u8, len: usize),
    /// Hands the host a JSON [`crate::protocol::Event`] (a listen, now playing, progress).
    pub emit: unsafe extern "C" fn(ctx: *mut c_void, event: *const u8, len: usize) -> Status,
    /// Reads a value of the plugin's own key-value state into `out` (host-allocated).
    pub kv_get: unsafe extern "C" fn(ctx: *mut c_void, key: *const u8, key_len: usize, out: *mut Buf) -> Status,
    /// Writes a value of the plugin's own key-value state; an empty value deletes the key.
    pub kv_put: unsafe extern "C" fn(
        ctx: *mut c_void,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> Status,
    /// The host's clock, unix milliseconds.
    pub now_ms: unsafe extern "C" fn(ctx: *mut c_void) -> i64,
    /// Frees a buffer the host allocated.
    pub free_buf: unsafe extern "C" fn(ctx: *mut c_void, buf: Buf),
}

/// What a plugin offers the host: the table its entry symbol returns.
#[repr(C)]
#[derive(Debug)]
pub struct PluginV1 {
    /// Must equal the host's ABI major; checked before anything else is read.
    pub abi_major: u32,
    /// The minor version the plugin was built with.
    pub abi_minor: u32,
    /// Size of this struct as the plugin knows it.
    pub struct_size: usize,
    /// The plugin's name: static, NUL-terminated UTF-8.
    pub name: *const c_char,
    /// The plugin's version: static, NUL-terminated UTF-8.
    pub version: *const c_char,
    /// Creates an instance from a JSON config. On `STATUS_OK` writes the
    /// instance to `instance`; otherwise writes the error to `error`.
    pub create: unsafe extern "C" fn(
        host: *const HostV1,
        config: *const u8,
        config_len: usize,
        instance: *mut *mut c_void,
        error: *mut Buf,
    ) -> Status,
    /// Calls a method with a JSON payload; the result or error goes to `out`.
    pub call: unsafe extern "C" fn(
        instance: *mut c_void,
        method: *const u8,
        method_len: usize,
        payload: *const u8,
        payload_len: usize,
        out: *mut Buf,
    ) -> Status,
    /// Frees a buffer the plugin allocated.
    pub free_buf: unsafe extern "C" fn(buf: Buf),
    /// Destroys an instance.
    pub destroy: unsafe extern "C" fn(instance: *mut c_void),
}

// SAFETY: the table is immutable static data: pointers to static strings and functions.
unsafe impl Sync for PluginV1 {}
// SAFETY: as above.
unsafe impl Send for PluginV1 {}
