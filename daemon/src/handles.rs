//! The domain handles together, as the edges (`rpc`, `http`) get them.

use crate::adapters::Adapters;
use crate::events::EventBus;
use crate::imports::Imports;
use crate::library::Library;
use crate::runtime::Runtime;
use crate::scrobbling::Scrobbling;

/// The domain handles, as the edges get them.
#[derive(Clone)]
pub(crate) struct Handles {
    pub(crate) library: Library,
    pub(crate) imports: Imports,
    pub(crate) adapters: Adapters,
    pub(crate) scrobbling: Scrobbling,
    pub(crate) runtime: Runtime,
    pub(crate) events: EventBus,
}
