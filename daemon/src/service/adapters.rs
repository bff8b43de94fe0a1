//! What the daemon does with adapters beyond plugin management: history
//! imports, live trackers, signing in, loving tracks. Every method blocks
//! (it calls plugins or waits for commits); the RPC layer runs them off the
//! async workers.

use std::sync::Arc;

use musique_sdk::ErrorKind;
use musique_sdk::protocol::{AuthBegin, AuthComplete, AuthStatus, Love, method};

use super::Service;
use crate::clock;
use crate::error::{Error, Result};
use crate::identity::Name;
use crate::import::{AdapterContext, AdapterImport};
use crate::plugins::PluginCallError;
use crate::retry::RetryPolicy;
use crate::store::records::{ImportRunRecord, LovedRecord};
use crate::store::{Put, scoped_key};
use crate::trackers::{Announce, TrackerStatus};

/// Turns a plugin's failure into a service error users can act on.
pub(crate) fn plugin_error(error: PluginCallError) -> Error {
    match error.plugin_error().map(|error| error.kind) {
        Some(ErrorKind::InvalidInput | ErrorKind::Unauthorized | ErrorKind::UnknownMethod) => {
            Error::invalid(error.to_string())
        }
        _ => Error::invalid(format!("{error} (try again later)")),
    }
}

impl Service {
    /// What adapter imports and trackers need.
    pub(crate) fn adapter_context(&self) -> AdapterContext {
        AdapterContext {
            store: self.state.store.clone(),
            events: self.state.events.clone(),
            plugins: self.state.plugins.clone(),
            separators: self.state.separators.clone(),
            retry: RetryPolicy::from_config(&self.state.import_defaults),
        }
    }

    fn announcer(&self) -> Announce {
        let service = self.clone();
        Arc::new(move |keys: &[(u64, u64)]| service.announce(keys))
    }

    /// Starts (or resumes) an adapter history import.
    pub(crate) fn fetch_history(&self, request: AdapterImport) -> Result<ImportRunRecord> {
        self.state.imports.start_adapter(&self.adapter_context(), request)
    }

    /// Starts the trackers and adapter imports a stop or crash left running.
    pub(crate) fn resume_adapters(&self) {
        let context = self.adapter_context();
        self.state.imports.resume_adapters(&context);
        self.state.trackers.restore(&context, self.announcer());
        self.state.enricher.start(self.clone());
    }

    pub(crate) fn tracker_start(&self, adapter: &str) -> Result<TrackerStatus> {
        self.state.trackers.start(&self.adapter_context(), self.announcer(), adapter)
    }

    pub(crate) fn tracker_stop(&self, adapter: &str) -> Result<Vec<TrackerStatus>> {
        if !self.state.trackers.stop(&self.adapter_context(), adapter)? {
            return Err(Error::not_found(format!("no tracker of `{adapter}` is running")));
        }
        Ok(self.state.trackers.status(Some(adapter)))
    }

    pub(crate) fn tracker_status(&self, adapter: Option<&str>) -> Vec<TrackerStatus> {
        self.state.trackers.status(adapter)
    }

    /// Stops trackers, imports and the enricher (before the store closes).
    pub(crate) fn stop_background(&self) {
        self.state.enricher.stop();
        self.state.trackers.stop_all();
        self.state.imports.stop_all();
    }

    pub(crate) fn auth_begin(&self, adapter: &str) -> Result<AuthBegin> {
        let value =
            self.state.plugins.call(adapter, method::AUTH_BEGIN, serde_json::Value::Null).map_err(plugin_error)?;
        serde_json::from_value(value)
            .map_err(|err| Error::invalid(format!("the {adapter} adapter answered wrongly: {err}")))
    }

    pub(crate) fn auth_complete(&self, adapter: &str, token: String) -> Result<AuthStatus> {
        let payload = serde_json::to_value(AuthComplete { token }).expect("JSON");
        let value = self.state.plugins.call(adapter, method::AUTH_COMPLETE, payload).map_err(plugin_error)?;
        serde_json::from_value(value)
            .map_err(|err| Error::invalid(format!("the {adapter} adapter answered wrongly: {err}")))
    }

    /// Loves or unloves a track on the adapter's service, then stores the flag.
    /// Nothing is stored when the service refuses.
    pub(crate) fn love(&self, adapter: &str, artist: &str, track: &str, loved: bool) -> Result<()> {
        let (artist, track) = (artist.trim(), track.trim());
        if artist.is_empty() || track.is_empty() {
            return Err(Error::invalid("`artist` and `track` must not be empty"));
        }
        let love = Love { artist: artist.to_owned(), track: track.to_owned(), loved };
        self.state
            .plugins
            .call(adapter, method::LOVE, serde_json::to_value(love).expect("JSON"))
            .map_err(plugin_error)?;
        let credit = crate::identity::split_credit(artist, track, &self.state.separators);
        let record = LovedRecord { loved, at_ms: clock::now_ms(), source: adapter.to_owned() };
        self.state
            .store
            .put_blocking(vec![Put::Loved { track_key: scoped_key(&credit.primary, &credit.title), record }])
    }

    /// The canonical key of an album named by the user.
    pub(crate) fn album_key(&self, artist: &str, album: &str) -> String {
        let credit = crate::identity::split_credit(artist, "", &self.state.separators);
        scoped_key(&credit.primary, &Name::new(album))
    }
}
