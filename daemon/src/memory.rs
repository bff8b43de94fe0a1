//! Giving memory back after a burst.
//!
//! glibc's malloc keeps what the program frees for later, in arenas: one per
//! thread that found the others busy, up to eight per core. A burst of requests
//! (thousands of JSON-RPC calls over short connections, large `listens.add`
//! batches, scrobble documents) allocates its buffers on the tokio workers and on
//! the many blocking threads that serve store reads, spread over a dozen arenas.
//! When it is over, nearly all of it is free but still resident: free chunks sit
//! between live ones, and an arena gives back only the free memory at its very top.
//! After the fuzz run of issue 21 the daemon stayed at 412 MB (17 MB idle).
//!
//! So [`tune`] caps the arenas at start ([`MAX_ARENAS`]), and the `memory`
//! component ([`start`]) looks every [`CHECK_INTERVAL`] at how much of the
//! resident memory malloc holds free. When that exceeds by more than
//! [`TRIM_SLACK`] what the last trim could not return (pages still partly in
//! use), it asks malloc to hand every whole free page back to the system
//! (`malloc_trim`, which releases them inside the arenas too, not only at their top).
//! Its status line counts the looks, so a caller can wait for one made after a burst.
//!
//! Elsewhere (other C libraries, macOS) the allocator returns memory by itself,
//! and the component reports itself off.

use std::io;

use crate::components::Component;

/// Most malloc arenas (glibc's default is eight per core). Four keep the busy
/// threads (the store writer, the indexer, an import, the RPC workers) from
/// waiting on each other's arena most of the time, while bounding how many arenas
/// a burst leaves its garbage in, whatever the number of cores.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
pub(crate) const MAX_ARENAS: i32 = 4;
/// How often the resident memory is looked at; a look reads `/proc/self/statm`
/// and walks malloc's free lists.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
pub(crate) const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// The share of one core the daemon may have used since the last look for the
/// look to happen: busier than this, it is serving requests, and a look (which
/// walks malloc's free lists under its locks) would stall them.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
pub(crate) const BUSY_SHARE: f64 = 0.2;
/// Free resident memory tolerated before it is handed back: below this, a trim
/// would mostly return pages the next requests fault in again.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
pub(crate) const TRIM_SLACK: u64 = 8 * 1024 * 1024;

/// Sets the allocator up for a long-running server; call it first thing, before
/// threads start (an arena, once a thread has it, stays its own).
pub(crate) fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's parameters; any value is accepted or refused.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS);
    }
}

/// Starts the `memory` component: a thread that trims after bursts (where malloc needs it).
/// It looks only when `quiet` says nothing was stored since the last look, and the
/// process used at most [`BUSY_SHARE`] of a core meanwhile: a trim in the middle of
/// an import would hand back pages the import faults in again at once, and a look
/// during a burst of queries would hold malloc's locks while they wait.
pub(crate) fn start(quiet: impl FnMut() -> bool + Send + 'static) -> io::Result<Component> {
    imp::start(quiet)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use std::io;
    use std::sync::mpsc::{RecvTimeoutError, Sender};
    use std::sync::{Arc, Mutex};

    use super::{BUSY_SHARE, CHECK_INTERVAL, TRIM_SLACK};
    use crate::components::{Component, ComponentState, Health};

    pub(super) fn start(mut quiet: impl FnMut() -> bool + Send + 'static) -> io::Result<Component> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("memory".into()).spawn({
            let seen = seen.clone();
            move || {
                let mut trimmer = Trimmer::default();
                let mut cpu = cpu_time();
                let busy = CHECK_INTERVAL.mul_f64(BUSY_SHARE);
                loop {
                    match stopped.recv_timeout(CHECK_INTERVAL) {
                        // Only quiet looks count, so waiting for a look after a burst waits for a trim.
                        Err(RecvTimeoutError::Timeout) if idle(&mut cpu, busy) & quiet() => {
                            let now = trimmer.check();
                            *seen.lock().expect("memory lock") = now;
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
        })?;
        let stop: Mutex<Option<Sender<()>>> = Mutex::new(Some(stop));
        let thread = Mutex::new(Some(thread));
        Ok(Component::new(
            "memory",
            move || health(*seen.lock().expect("memory lock")),
            move || {
                stop.lock().expect("memory lock").take();
                if let Some(thread) = thread.lock().expect("memory lock").take() {
                    let _ = thread.join();
                }
            },
        ))
    }

    /// What the trimmer has seen and done, for the status.
    ///
    /// The status line ends with "N checks": the tests' `wait_settled` reads it.
    #[derive(Debug, Default, Clone, Copy)]
    struct Seen {
        /// Looks at the resident memory so far.
        checks: u64,
        /// Trims so far, and the bytes they handed back.
        trims: u64,
        returned: u64,
        /// At the last look: anonymous resident bytes, and bytes malloc had handed out.
        resident: u64,
        allocated: u64,
    }

    /// A status line with `checks` looks and `resident_mb` resident, for the unit test.
    #[cfg(test)]
    pub(super) fn health_of(checks: u64, resident_mb: u64) -> Health {
        health(Seen { checks, resident: resident_mb * 1_000_000, ..Seen::default() })
    }

    fn health(seen: Seen) -> Health {
        const MB: u64 = 1_000_000;
        Health::new(
            ComponentState::Running,
            Some(format!(
                "{} MB resident, {} MB allocated; {} trims returned {} MB; {} checks",
                seen.resident / MB,
                seen.allocated / MB,
                seen.trims,
                seen.returned / MB,
                seen.checks
            )),
        )
    }

    /// The trimmer thread's state.
    #[derive(Default)]
    struct Trimmer {
        seen: Seen,
        /// Free resident bytes left after the last trim (pages partly in use, and
        /// memory outside malloc such as thread stacks): only growth beyond it counts.
        floor: u64,
    }

    impl Trimmer {
        /// Looks at the memory, and trims when malloc holds more than the slack free.
        fn check(&mut self) -> Seen {
            let allocated = allocated();
            let Some(resident) = anonymous_resident() else { return self.seen };
            let held = resident.saturating_sub(allocated);
            let mut after = resident;
            if held > self.floor + TRIM_SLACK {
                // SAFETY: malloc_trim only releases free memory; it takes malloc's own locks.
                unsafe { libc::malloc_trim(0) };
                after = anonymous_resident().unwrap_or(resident);
                self.seen.trims += 1;
                self.seen.returned += resident.saturating_sub(after);
                self.floor = after.saturating_sub(allocated);
                tracing::debug!(
                    before_mb = resident / 1_000_000,
                    after_mb = after / 1_000_000,
                    "returned free memory to the system"
                );
            } else if held < self.floor {
                self.floor = held;
            }
            self.seen.checks += 1;
            self.seen.resident = after;
            self.seen.allocated = allocated;
            self.seen
        }
    }

    /// Whether the process used at most `busy` of CPU since `last`, which it moves to now.
    fn idle(last: &mut std::time::Duration, busy: std::time::Duration) -> bool {
        let now = cpu_time();
        now.saturating_sub(std::mem::replace(last, now)) <= busy
    }

    /// The CPU time the process has used, user and system, all threads.
    fn cpu_time() -> std::time::Duration {
        // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid one.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut usage);
            usage
        };
        let micros = |time: libc::timeval| time.tv_sec.max(0) as u64 * 1_000_000 + time.tv_usec.max(0) as u64;
        std::time::Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
    }

    /// Bytes malloc has handed out and not had back: in its arenas, and mapped on their own.
    fn allocated() -> u64 {
        // SAFETY: mallinfo2 reads malloc's statistics under its own locks.
        let info = unsafe { libc::mallinfo2() };
        (info.uordblks + info.hblkhd) as u64
    }

    /// Resident bytes not backed by a file (`/proc/self/statm`: resident minus shared pages).
    fn anonymous_resident() -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let mut fields = statm.split_whitespace().skip(1).map(|field| field.parse::<u64>().ok());
        let (resident, shared) = (fields.next()??, fields.next()??);
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
        Some(resident.saturating_sub(shared) * page)
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    use std::io;

    use crate::components::{Component, ComponentState, Health};

    pub(super) fn start(_quiet: impl FnMut() -> bool + Send + 'static) -> io::Result<Component> {
        let detail = "the system allocator returns freed memory by itself".to_owned();
        Ok(Component::new("memory", move || Health::new(ComponentState::Off, Some(detail.clone())), || {}))
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::imp::health_of;

    #[test]
    fn the_status_line_ends_with_the_number_of_checks() {
        let detail = health_of(57, 3).detail.expect("a detail");
        assert!(detail.ends_with("; 57 checks"), "{detail}");
        assert!(detail.starts_with("3 MB resident"), "{detail}");
    }
}
