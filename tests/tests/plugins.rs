//! A plugin built as a `cdylib` by this workspace, loaded with `dlopen`
//! through the ABI's entry symbol: the path musiqued will take for drop-in plugins.

use std::path::PathBuf;

use musique_sdk::abi::{self, PluginV1};
use musique_sdk::host::{CallError, Table};
use musique_sdk::protocol::{ErrorKind, Event};
use musique_sdk::testkit::RecordingHost;
use serde_json::json;

fn built_plugin() -> PathBuf {
    let path = musique_tests::bin_dir().join("deps").join(format!(
        "{}musique_echo_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(path.exists(), "{} is missing: run the tests with `cargo test --workspace`", path.display());
    path
}

/// Loads a private copy (a rebuild must never change code under a loaded library) and never unloads it.
fn load(dir: &std::path::Path) -> Table {
    let copy = dir.join("echo-copy.so");
    std::fs::copy(built_plugin(), &copy).unwrap();
    // SAFETY: our own plugin; its initializers are trivial.
    let library = unsafe { libloading::Library::new(&copy) }.expect("dlopen");
    let table = {
        // SAFETY: the symbol has the ABI's signature.
        let entry = unsafe { library.get::<extern "C" fn() -> *const PluginV1>(abi::ENTRY_V1.as_bytes()) }
            .expect("entry symbol");
        // SAFETY: the library stays loaded forever (forgotten below).
        unsafe { Table::check(entry()) }.expect("a valid table")
    };
    std::mem::forget(library);
    table
}

#[test]
fn dynamic_plugin_through_the_abi() {
    let dir = tempfile::tempdir().unwrap();
    let table = load(dir.path());
    assert_eq!((table.name(), table.abi()), ("echo", (abi::ABI_MAJOR, abi::ABI_MINOR)));

    let host = RecordingHost::new();
    host.set_now_ms(1_700_000_000_000);
    let mut echo = table.create(host.clone(), &json!({})).unwrap();
    let hello = echo.hello().unwrap();
    assert_eq!((hello.name.as_str(), hello.version.as_str()), ("echo", env!("CARGO_PKG_VERSION")));
    assert_eq!(host.logs()[0].1, "echo plugin created");

    assert_eq!(echo.call("echo", &json!({"ü": [1, null]})).unwrap(), json!({"ü": [1, null]}));
    echo.call("listen", &json!({"artist": "Broadcast", "track": "Pendulum"})).unwrap();
    match &host.events()[0] {
        Event::Listens { listens } => {
            assert_eq!((listens[0].track.as_str(), listens[0].listened_at), ("Pendulum", 1_700_000_000))
        }
        other => panic!("unexpected event {other:?}"),
    }
    assert_eq!(echo.call("count", &json!(null)).unwrap(), json!(1));
    assert_eq!(echo.call("count", &json!(null)).unwrap(), json!(2));
    assert_eq!(host.state().get("count").map(Vec::as_slice), Some(b"2".as_slice()));

    // A panic inside the plugin is caught there and reported with its place; the host goes on.
    let err = echo.call("panic", &json!(null)).unwrap_err();
    assert!(
        matches!(&err, CallError::Panicked(message) if message.contains("asked to panic") && message.contains(" at ")),
        "{err:?}"
    );
    let err = echo.call("frobnicate", &json!(null)).unwrap_err();
    assert!(matches!(&err, CallError::Plugin(error) if error.kind == ErrorKind::UnknownMethod), "{err:?}");
    assert_eq!(echo.call("echo", &json!("still here")).unwrap(), json!("still here"));

    let err = table.create(host.clone(), &json!({"panic_on_create": true})).unwrap_err();
    assert!(matches!(&err, CallError::Panicked(message) if message.contains("asked to panic on create")), "{err:?}");
}

#[test]
fn files_that_are_not_plugins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("x.so");
    std::fs::write(&text, "not a library").unwrap();
    // SAFETY: loading fails before any code runs.
    assert!(unsafe { libloading::Library::new(&text) }.is_err());
    // Cut inside its headers, a real plugin is refused by the loader. (Cut later, a debug
    // build may still load, its missing part being debug info only: the host must check
    // more than `dlopen` does.)
    let truncated = dir.path().join("truncated.so");
    let bytes = std::fs::read(built_plugin()).unwrap();
    std::fs::write(&truncated, &bytes[..512]).unwrap();
    // SAFETY: as above.
    assert!(unsafe { libloading::Library::new(&truncated) }.is_err());
}
