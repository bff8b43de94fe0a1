//! Run a plugin in-process, through the real C ABI, without a daemon.
//!
//! ```
//! # use musique_sdk::{Capability, Error, Host, Plugin};
//! # struct Echo;
//! # impl Plugin for Echo {
//! #     const NAME: &'static str = "echo";
//! #     const VERSION: &'static str = "0.1.0";
//! #     const CAPABILITIES: &'static [Capability] = &[];
//! #     fn create(_: Host, _: serde_json::Value) -> Result<Self, Error> { Ok(Echo) }
//! #     fn call(&mut self, _: &str, payload: serde_json::Value) -> Result<serde_json::Value, Error> { Ok(payload) }
//! # }
//! use musique_sdk::testkit::RecordingHost;
//!
//! let host = RecordingHost::new();
//! let mut echo = host.start::<Echo>(serde_json::json!({})).unwrap();
//! assert_eq!(echo.hello().unwrap().name, "echo");
//! assert_eq!(echo.call("anything", &serde_json::json!([1, 2])).unwrap(), serde_json::json!([1, 2]));
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::host::{CallError, HostServices, Instance, Table};
use crate::plugin::{__private, Level, Plugin};
use crate::protocol::Event;

/// A host that records what plugins do: logs, events and stored state.
#[derive(Debug, Default)]
pub struct RecordingHost {
    logs: Mutex<Vec<(Level, String)>>,
    events: Mutex<Vec<Event>>,
    state: Mutex<BTreeMap<String, Vec<u8>>>,
    now_ms: AtomicI64,
}

impl RecordingHost {
    /// A new host with an empty record, its clock at 0.
    pub fn new() -> Arc<RecordingHost> {
        Arc::new(RecordingHost::default())
    }

    /// Creates an instance of `T` through its ABI table.
    pub fn start<T: Plugin>(self: &Arc<Self>, config: Value) -> Result<Instance, CallError> {
        // SAFETY: the table is built by this crate and lives for the process.
        let table =
            unsafe { Table::check(__private::table::<T>()) }.map_err(|err| CallError::Garbage(err.to_string()))?;
        table.create(self.clone(), &config)
    }

    /// Log lines so far.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.logs.lock().expect("logs lock").clone()
    }

    /// Events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("events lock").clone()
    }

    /// The plugin's stored state.
    pub fn state(&self) -> BTreeMap<String, Vec<u8>> {
        self.state.lock().expect("state lock").clone()
    }

    /// Sets the clock plugins see.
    pub fn set_now_ms(&self, now_ms: i64) {
        self.now_ms.store(now_ms, Ordering::Relaxed);
    }
}

impl HostServices for RecordingHost {
    fn log(&self, level: Level, message: &str) {
        self.logs.lock().expect("logs lock").push((level, message.to_owned()));
    }

    fn emit(&self, event: &[u8]) -> bool {
        match serde_json::from_slice(event) {
            Ok(event) => {
                self.events.lock().expect("events lock").push(event);
                true
            }
            Err(_) => false,
        }
    }

    fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        self.state.lock().expect("state lock").get(key).cloned()
    }

    fn kv_put(&self, key: &str, value: &[u8]) -> bool {
        let mut state = self.state.lock().expect("state lock");
        if value.is_empty() {
            state.remove(key);
        } else {
            state.insert(key.to_owned(), value.to_vec());
        }
        true
    }

    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::Relaxed)
    }
}
