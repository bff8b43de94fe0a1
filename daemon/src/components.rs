//! The daemon's long-lived parts as one shape: a [`Component`] has a name, a
//! way to say how it is doing, and a way to stop it (which waits for it).
//! [`Components`] starts nothing itself: the daemon registers each part right
//! after starting it, so they stop in reverse order, whether at shutdown or
//! because a later part failed to start (the registry is a drop guard).

use std::sync::Mutex;

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
}

impl Component {
    pub(crate) fn new(
        name: &'static str,
        health: impl Fn() -> Health + Send + Sync + 'static,
        stop: impl FnOnce() + Send + 'static,
    ) -> Component {
        Component { name, health: Box::new(health), stop: Some(Box::new(stop)) }
    }
}

/// The started components, in start order. Dropping it stops them all, in reverse.
#[derive(Default)]
pub(crate) struct Components {
    /// Locked briefly; a stop runs outside the lock.
    started: Mutex<Vec<Component>>,
}

impl Components {
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

    /// Stops every component, the last started first. Blocks.
    pub(crate) fn stop_all(&self) {
        loop {
            let Some(mut component) = self.started.lock().expect("components lock").pop() else { return };
            if let Some(stop) = component.stop.take() {
                tracing::debug!(component = component.name, "stopping");
                stop();
            }
        }
    }
}

impl Drop for Components {
    fn drop(&mut self) {
        self.stop_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

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
