//! The daemon's long-lived parts as one shape: a [`Component`] has a name, a
//! way to say how it is doing, and a way to stop it (which waits for it).
//! [`Components`] starts nothing itself: the daemon registers each part right
//! after starting it, so they stop in reverse order, whether at shutdown or
//! because a later part failed to start (the registry is a drop guard).
//!
//! Stopping is bounded: each stop runs on its own thread and is waited for at
//! most [`STOP_BOUND`], all of them together at most [`STOP_BUDGET`]. A part
//! that does not stop in time (work that cannot be interrupted, a plugin that
//! hangs) is abandoned with a log line naming it, and the next ones still
//! stop; a part that must finish (the store) has its own bound beyond the budget.

use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest one component may take to stop before it is abandoned.
/// Stopping means finishing a batch or a commit: well under a second.
pub(crate) const STOP_BOUND: Duration = Duration::from_secs(3);

/// Longest all components may take to stop together (beyond it, each still
/// gets [`STOP_FLOOR`]). With the RPC drain before and the store's own bound
/// after, shutdown stays well under systemd's `TimeoutStopSec` of 30 s.
pub(crate) const STOP_BUDGET: Duration = Duration::from_secs(8);

/// The moment every component gets, even once the budget is spent.
const STOP_FLOOR: Duration = Duration::from_millis(100);

/// How a component is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ComponentState {
    /// Working.
    Running,
    /// Started, with nothing to do now.
    Idle,
    /// Working, but some of it failed (a plugin of several).
    Degraded,
    /// Not working.
    Failed,
    /// Turned off.
    Off,
    /// Settings in force and valid (the config).
    Ok,
    /// Settings refused (the config's last reload); the previous ones stay.
    Invalid,
}

/// A component's state with more about it (the last error, what it serves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Health {
    pub(crate) state: ComponentState,
    pub(crate) detail: Option<String>,
}

impl Health {
    pub(crate) fn new(state: ComponentState, detail: Option<String>) -> Health {
        Health { state, detail }
    }
}

/// A component as the status lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComponentReport {
    pub(crate) name: &'static str,
    pub(crate) health: Health,
}

/// One long-lived part of the daemon.
pub(crate) struct Component {
    name: &'static str,
    /// How it is doing, asked for each status.
    health: Box<dyn Fn() -> Health + Send + Sync>,
    /// Stops it and waits until it has stopped. Blocks.
    stop: Option<Box<dyn FnOnce() + Send>>,
    /// Its own bound to stop, outside the shared budget (a part that must finish).
    must_finish: Option<Duration>,
}

impl Component {
    pub(crate) fn new(
        name: &'static str,
        health: impl Fn() -> Health + Send + Sync + 'static,
        stop: impl FnOnce() + Send + 'static,
    ) -> Component {
        Component { name, health: Box::new(health), stop: Some(Box::new(stop)), must_finish: None }
    }

    /// Gives the component `bound` to stop, whatever the others took: the store
    /// closes cleanly even when a part before it was abandoned.
    pub(crate) fn must_finish(mut self, bound: Duration) -> Component {
        self.must_finish = Some(bound);
        self
    }
}

/// The started components, in start order. Dropping it stops them all, in reverse.
pub(crate) struct Components {
    /// Locked briefly; a stop runs outside the lock.
    started: Mutex<Vec<Component>>,
    /// How long one component may take to stop ([`STOP_BOUND`]; shorter in tests).
    stop_bound: Duration,
    /// How long they may take together ([`STOP_BUDGET`]; shorter in tests).
    stop_budget: Duration,
}

impl Default for Components {
    fn default() -> Components {
        Components::with_bounds(STOP_BOUND, STOP_BUDGET)
    }
}

impl Components {
    fn with_bounds(stop_bound: Duration, stop_budget: Duration) -> Components {
        Components { started: Mutex::default(), stop_bound, stop_budget }
    }

    /// Registers a component that has just started.
    pub(crate) fn started(&self, component: Component) {
        tracing::debug!(component = component.name, "started");
        self.started.lock().expect("components lock").push(component);
    }

    /// Every component's health, in start order.
    pub(crate) fn report(&self) -> Vec<ComponentReport> {
        let started = self.started.lock().expect("components lock");
        started.iter().map(|component| ComponentReport { name: component.name, health: (component.health)() }).collect()
    }

    /// Stops every component, the last started first, each within its bound.
    /// Blocks, for at most the budget plus the bounds of those that must finish.
    pub(crate) fn stop_all(&self) {
        let deadline = Instant::now() + self.stop_budget;
        loop {
            let Some(mut component) = self.started.lock().expect("components lock").pop() else { return };
            let Some(stop) = component.stop.take() else { continue };
            let bound = match component.must_finish {
                Some(bound) => bound,
                None => self.stop_bound.min(deadline.saturating_duration_since(Instant::now())).max(STOP_FLOOR),
            };
            stop_within(component.name, stop, bound);
        }
    }
}

/// Runs `stop` on its own thread and waits for it at most `bound`; past it,
/// the thread is left behind (the process exits without it).
fn stop_within(name: &'static str, stop: Box<dyn FnOnce() + Send>, bound: Duration) {
    tracing::debug!(component = name, "stopping");
    // Kept here too, so the stop still runs (on this thread) if no thread can be started.
    let slot = Arc::new(Mutex::new(Some(stop)));
    let (stopped, done) = std::sync::mpsc::channel::<()>();
    let on_thread = slot.clone();
    let spawned = std::thread::Builder::new().name(format!("stop-{name}")).spawn(move || {
        let stop = on_thread.lock().expect("stop lock").take();
        if let Some(stop) = stop {
            stop();
        }
        let _ = stopped.send(());
    });
    if let Err(err) = spawned {
        tracing::warn!(component = name, error = %err, "cannot start a thread to stop it; stopping it unbounded");
        let stop = slot.lock().expect("stop lock").take();
        if let Some(stop) = stop {
            stop();
        }
        return;
    }
    match done.recv_timeout(bound) {
        Ok(()) => {}
        Err(RecvTimeoutError::Timeout) => tracing::error!(
            component = name,
            bound_ms = bound.as_millis() as u64,
            "did not stop in time; abandoned (the daemon exits without waiting for it)"
        ),
        Err(RecvTimeoutError::Disconnected) => tracing::error!(component = name, "panicked while stopping"),
    }
}

impl Drop for Components {
    fn drop(&mut self) {
        self.stop_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_that_does_not_stop_is_abandoned_and_the_others_still_stop() {
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let components = Components::with_bounds(Duration::from_millis(50), Duration::from_secs(10));
        let (release, hung) = std::sync::mpsc::channel::<()>();
        let hung = Arc::new(Mutex::new(hung));
        for name in ["store", "imports", "plugins"] {
            let (stopped, hung) = (stopped.clone(), hung.clone());
            let component = Component::new(
                name,
                || Health::new(ComponentState::Running, None),
                move || {
                    if name == "imports" {
                        // Blocks until the test lets it go, after `stop_all` returned.
                        let _ = hung.lock().unwrap().recv();
                    }
                    stopped.lock().unwrap().push(name);
                },
            );
            let component = if name == "store" { component.must_finish(Duration::from_secs(10)) } else { component };
            components.started(component);
        }
        components.stop_all();
        assert_eq!(*stopped.lock().unwrap(), ["plugins", "store"], "imports was abandoned, the store still closed");
        assert!(components.report().is_empty());
        release.send(()).unwrap();
    }

    #[test]
    fn stop_in_reverse_order_and_on_drop() {
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let components = Components::default();
        for name in ["store", "index", "plugins"] {
            let stopped = stopped.clone();
            components.started(Component::new(
                name,
                || Health::new(ComponentState::Running, None),
                move || stopped.lock().unwrap().push(name),
            ));
        }
        let names: Vec<&str> = components.report().iter().map(|report| report.name).collect();
        assert_eq!(names, ["store", "index", "plugins"]);
        drop(components);
        assert_eq!(*stopped.lock().unwrap(), ["plugins", "index", "store"]);
    }
}
