//! gort-runtime: Go's G/M/P scheduler for Rust. Goroutines are stackful coroutines (corosensei)
//! multiplexed onto OS threads (Ms) that must hold a processor token (P) to run them; each P
//! owns a local run queue, idle Ms steal, a global queue is checked 1 time in 61, and sysmon
//! watches for goroutines that hog a P.
//!
//! The public surface is re-exported by the `gort` facade crate; `rt` is the internal seam used
//! by gort's channel and sync crates (`gopark`/`goready`, sudogs, the runtime lock and
//! semaphore). See docs/design.md for the map.
#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

/// Prints `fatal error: <msg>` and aborts: a broken runtime invariant (Go's `throw`). Never
/// unwinds through scheduler code.
#[macro_export]
#[doc(hidden)]
macro_rules! throw {
    ($($arg:tt)*) => {{
        $crate::fatal_error(&format!($($arg)*))
    }};
}

#[doc(hidden)]
#[cold]
pub fn fatal_error(msg: &str) -> ! {
    print::stderr(&format!("fatal error: {msg}\n"));
    std::process::abort()
}

// Under `--cfg loom` the crate is only its atomics facade, `loom`: the runtime proper cannot run
// under the model checker (runtime/src/loom.rs says why), so its lock-free protocols are
// checked by the miniature models in runtime/tests/loom_models/ (scripts/loom.sh).
#[cfg(not(loom))]
pub mod coro;
#[cfg(not(loom))]
pub mod env;
#[cfg(not(loom))]
pub mod lock;
#[doc(hidden)]
pub mod loom;
#[cfg(not(loom))]
pub mod metrics;
#[cfg(not(loom))]
pub mod netpoll;
mod print;
#[cfg(not(loom))]
pub mod sched;
#[cfg(not(loom))]
pub mod sema;
#[cfg(not(loom))]
pub mod time;
#[cfg(not(loom))]
pub mod trace;

#[cfg(not(loom))]
pub use metrics::Metrics;
#[cfg(not(loom))]
pub use sched::proc::{Builder, JoinHandle, Panic};

/// Starts the runtime on the calling thread with settings from the environment, runs `f` as the
/// main goroutine and returns its result. See [`Builder::run`].
///
/// # Examples
/// ```
/// let answer = gort::run(|| {
///     assert_eq!(gort::runtime::goid(), Some(1)); // the main goroutine
///     6 * 7
/// });
/// assert_eq!(answer, 42);
/// ```
#[cfg(not(loom))]
pub fn run<F, R>(f: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Builder::new().run(f)
}

/// Starts a goroutine running `f`. The handle's `join` waits for its result; dropping the
/// handle detaches it. Goroutine dumps show the caller's location as where the goroutine was
/// created (Go's `created by main.main in goroutine 1` and the `go` statement's file:line).
///
/// # Panics
/// Outside a goroutine.
///
/// # Examples
/// ```
/// gort::run(|| {
///     let squares: Vec<_> = (1..=10).map(|i| gort::go(move || i * i)).collect();
///     let sum: i32 = squares.into_iter().map(|h| h.join().unwrap()).sum();
///     assert_eq!(sum, 385);
/// });
/// ```
#[cfg(not(loom))]
#[track_caller]
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    sched::proc::newproc(f)
}

/// Go's `runtime` package: scheduler queries and controls.
#[cfg(not(loom))]
pub mod runtime {
    pub use crate::metrics::{metrics, Metrics};
    pub use crate::sched::lockosthread::{lock_os_thread, unlock_os_thread};
    pub use crate::sched::park::{gosched, preempt_point};
    pub use crate::sched::syscall::blocking;

    use crate::loom::Ordering;
    use crate::sched::m::getm;
    use crate::sched::park::outside_goroutine;

    /// The number of goroutines that exist (not yet finished).
    ///
    /// # Panics
    /// Outside a goroutine.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     assert_eq!(gort::runtime::num_goroutine(), 1); // main
    ///     let h = gort::go(|| gort::runtime::num_goroutine());
    ///     assert_eq!(h.join().unwrap(), 2); // main, waiting in join, and the caller
    /// });
    /// ```
    pub fn num_goroutine() -> usize {
        let m = getm().unwrap_or_else(|| outside_goroutine("count goroutines"));
        // ORDERING: a statistic.
        m.sched.ngoroutine.load(Ordering::Relaxed).max(0) as usize
    }

    /// GOMAXPROCS of the current runtime.
    ///
    /// # Panics
    /// Outside a goroutine.
    ///
    /// # Examples
    /// ```
    /// gort::Builder::new().max_procs(3).run(|| {
    ///     assert_eq!(gort::runtime::gomaxprocs(), 3);
    /// });
    /// ```
    pub fn gomaxprocs() -> usize {
        let m = getm().unwrap_or_else(|| outside_goroutine("read GOMAXPROCS"));
        m.sched.gomaxprocs as usize
    }

    /// The number of logical CPUs usable by this process.
    ///
    /// # Examples
    /// ```
    /// let n = gort::runtime::num_cpu(); // works outside a goroutine too
    /// assert!(n >= 1);
    /// let procs = gort::Builder::new().max_procs(n).run(|| gort::runtime::gomaxprocs());
    /// assert_eq!(procs, n);
    /// ```
    pub fn num_cpu() -> usize {
        crate::env::num_cpu()
    }

    /// The id of the calling goroutine, if any (main is 1).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(gort::runtime::goid(), None); // not a goroutine
    /// gort::run(|| {
    ///     assert_eq!(gort::runtime::goid(), Some(1));
    ///     let h = gort::go(|| gort::runtime::goid());
    ///     let id = h.goid();
    ///     assert_eq!(h.join().unwrap(), Some(id));
    /// });
    /// ```
    pub fn goid() -> Option<u64> {
        crate::sched::m::getg().map(|g| g.goid())
    }

    /// Every goroutine as Go's `runtime.Stack(buf, true)` prints them: the caller first, with
    /// its symbolized frames, then the others by id, each with its header
    /// (`goroutine 7 [chan receive, 3 minutes]:`), the gort call it is blocked in and the source
    /// line of that call, and where it was created (`created by ... in goroutine 1` and the
    /// `gort::go` call's file:line). See `sched::traceback` for the format.
    ///
    /// # Panics
    /// Outside a goroutine.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// gort_runtime::run(|| {
    ///     let h = gort_runtime::go(|| gort_runtime::time::sleep(Duration::from_millis(100)));
    ///     let dump = gort_runtime::runtime::stack_dump();
    ///     assert!(dump.starts_with("goroutine 1 [running]:"));
    ///     assert!(dump.contains("\ngoroutine 2 ["));
    ///     assert!(dump.contains(" in goroutine 1\n"));
    ///     h.join().unwrap();
    /// });
    /// ```
    pub fn stack_dump() -> String {
        let m = getm().unwrap_or_else(|| outside_goroutine("dump goroutines"));
        crate::sched::traceback::goroutine_dump(m.sched)
    }
}

/// The seam for gort's channel and sync crates. Not a stable API.
#[cfg(not(loom))]
#[doc(hidden)]
pub mod rt {
    pub use crate::coro::UnlockFn;
    pub use crate::lock::RawLock;
    pub use crate::sched::g::{GPtr, GStatus, WaitReason};
    pub use crate::sched::m::{cheaprandn, getg, proc_pin, procid, ProcPin};
    pub use crate::sched::park::{
        gopark, goready, goyield, maybe_preempt, outside_goroutine, preempt_point,
    };
    pub use crate::sched::spin::{can_spin, do_spin};
    pub use crate::sched::sudog::{acquire_sudog, release_sudog, Sudog};
    pub use crate::sema::{semacquire, semrelease, NotifyList};
}
