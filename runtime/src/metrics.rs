//! `runtime::metrics()`: counters a monitoring system can read. Names follow Go's
//! runtime/metrics where one exists (`/sched/goroutines:goroutines`, `/sched/gomaxprocs:threads`).

use crate::loom::Ordering;
use crate::sched::m::getm;
use crate::sched::Sched;

/// A snapshot of scheduler counters. Racy by nature; each field is individually exact.
///
/// # Examples
/// ```
/// gort::Builder::new().max_procs(2).run(|| {
///     gort::go(|| ()).join().unwrap();
///     let m: gort::Metrics = gort::runtime::metrics();
///     assert_eq!(m.gomaxprocs, 2);
///     assert_eq!(m.goroutines_created, 2); // main and the one above
/// });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Live goroutines (`/sched/goroutines:goroutines`).
    pub goroutines: u64,
    /// Goroutines created since start.
    pub goroutines_created: u64,
    /// GOMAXPROCS (`/sched/gomaxprocs:threads`).
    pub gomaxprocs: u64,
    /// Idle Ps.
    pub idle_procs: u64,
    /// OS threads started as Ms (sysmon included).
    pub threads: u64,
    /// Idle Ms.
    pub idle_threads: u64,
    /// Spinning Ms.
    pub spinning_threads: u64,
    /// Gs in the global run queue.
    pub global_runq: u64,
    /// Successful steals from other Ps' run queues.
    pub steals: u64,
    /// Goroutine parks.
    pub parks: u64,
    /// Preemptions at check points after sysmon's request.
    pub preemptions: u64,
    /// Requests sysmon made (a G past its 10 ms slice); some are answered by a park instead.
    pub preempt_requests: u64,
    /// Ps sysmon took from goroutines in blocking calls and handed to other Ms.
    pub syscall_handoffs: u64,
    /// Ps sysmon took from goroutines that ran a whole slice past a preemption request
    /// without reaching a check point, and handed to other Ms.
    pub hog_retakes: u64,
    /// Timers that will still fire, over all Ps.
    pub timers: u64,
}

pub(crate) fn read(sched: &Sched) -> Metrics {
    // ORDERING: statistics; Relaxed everywhere.
    let r = Ordering::Relaxed;
    Metrics {
        goroutines: sched.ngoroutine.load(r).max(0) as u64,
        goroutines_created: sched.stats.goroutines_created.load(r),
        gomaxprocs: sched.gomaxprocs as u64,
        idle_procs: sched.npidle.load(r) as u64,
        threads: sched.mcount.load(r) as u64,
        idle_threads: sched.nmidle.load(r) as u64,
        spinning_threads: sched.nmspinning.load(r) as u64,
        global_runq: sched.runqsize.load(r) as u64,
        steals: sched.allp.iter().map(|p| p.steals.load(r)).sum(),
        parks: sched.allp.iter().map(|p| p.parks.load(r)).sum(),
        preemptions: sched.stats.preemptions.load(r),
        preempt_requests: sched.stats.preempt_requests.load(r),
        syscall_handoffs: sched.stats.syscall_handoffs.load(r),
        hog_retakes: sched.stats.hog_retakes.load(r),
        timers: crate::time::live(sched),
    }
}

/// The current runtime's counters.
///
/// # Panics
/// Outside a goroutine.
///
/// # Examples
/// ```
/// gort::run(|| {
///     let h = gort::go(|| gort::runtime::metrics().goroutines);
///     assert_eq!(h.join().unwrap(), 2); // main, waiting in join, and the caller
/// });
/// ```
pub fn metrics() -> Metrics {
    let m = getm().unwrap_or_else(|| crate::sched::park::outside_goroutine("read runtime metrics"));
    read(m.sched)
}
