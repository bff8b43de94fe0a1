//! A plugin whose table claims ABI major 2: a host speaking major 1 must
//! refuse it after reading the version, without touching anything else.

/// The start every ABI version's table shares.
#[repr(C)]
pub struct FutureTable {
    /// A major no host speaks yet.
    pub abi_major: u32,
    /// Its minor.
    pub abi_minor: u32,
    /// A size no v1 host should trust.
    pub struct_size: usize,
}

static TABLE: FutureTable = FutureTable { abi_major: 2, abi_minor: 0, struct_size: 4096 };

/// The entry symbol, as a v1 host looks it up.
#[unsafe(no_mangle)]
pub extern "C" fn musique_plugin_entry_v1() -> *const FutureTable {
    &TABLE
}
