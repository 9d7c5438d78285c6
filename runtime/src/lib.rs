//! gort-runtime: Go's G/M/P scheduler for Rust. Goroutines are stackful coroutines (corosensei)
//! multiplexed onto OS threads (Ms) that must hold a processor token (P) to run them; each P
//! owns a local run queue, idle Ms steal, a global queue is checked 1 time in 61, and sysmon
//! watches for goroutines that hog a P.
//!
//! The public surface is re-exported by the `gort` facade crate; `rt` is the internal seam used
//! by gort's channel and sync crates (`gopark`/`goready`, sudogs, the runtime lock and
//! semaphore). See docs/design.md for the map.
#![deny(
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
    eprintln!("fatal error: {msg}");
    std::process::abort()
}

pub mod coro;
pub mod env;
pub mod lock;
#[doc(hidden)]
pub mod loom;
pub mod metrics;
pub mod netpoll;
pub mod sched;
pub mod sema;
pub mod time;

pub use metrics::Metrics;
pub use sched::proc::{Builder, JoinHandle, Panic};

/// Starts the runtime on the calling thread with settings from the environment, runs `f` as the
/// main goroutine and returns its result. See [`Builder::run`].
pub fn run<F, R>(f: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Builder::new().run(f)
}

/// Starts a goroutine running `f`. The handle's `join` waits for its result; dropping the
/// handle detaches it.
///
/// # Panics
/// Outside a goroutine.
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    sched::proc::newproc(f)
}

/// Go's `runtime` package: scheduler queries and controls.
pub mod runtime {
    pub use crate::metrics::{metrics, Metrics};
    pub use crate::sched::park::{gosched, preempt_point};
    pub use crate::sched::syscall::blocking;

    use crate::loom::Ordering;
    use crate::sched::m::getm;
    use crate::sched::park::outside_goroutine;

    /// The number of goroutines that exist (not yet finished).
    ///
    /// # Panics
    /// Outside a goroutine.
    pub fn num_goroutine() -> usize {
        let m = getm().unwrap_or_else(|| outside_goroutine("count goroutines"));
        // ORDERING: a statistic.
        m.sched.ngoroutine.load(Ordering::Relaxed).max(0) as usize
    }

    /// GOMAXPROCS of the current runtime.
    ///
    /// # Panics
    /// Outside a goroutine.
    pub fn gomaxprocs() -> usize {
        let m = getm().unwrap_or_else(|| outside_goroutine("read GOMAXPROCS"));
        m.sched.gomaxprocs as usize
    }

    /// The number of logical CPUs usable by this process.
    pub fn num_cpu() -> usize {
        crate::env::num_cpu()
    }

    /// The id of the calling goroutine, if any (main is 1).
    pub fn goid() -> Option<u64> {
        crate::sched::m::getg().map(|g| g.goid())
    }

    /// Every goroutine as Go prints it in a dump (`goroutine N [chan receive]:`).
    ///
    /// # Panics
    /// Outside a goroutine.
    pub fn stack_dump() -> String {
        let m = getm().unwrap_or_else(|| outside_goroutine("dump goroutines"));
        crate::sched::trace::goroutine_dump(m.sched)
    }
}

/// The seam for gort's channel and sync crates. Not a stable API.
#[doc(hidden)]
pub mod rt {
    pub use crate::coro::UnlockFn;
    pub use crate::lock::RawLock;
    pub use crate::sched::g::{GPtr, GStatus, WaitReason};
    pub use crate::sched::m::{cheaprandn, getg, proc_key, procid};
    pub use crate::sched::park::{
        can_spin, do_spin, gopark, goready, goyield, outside_goroutine, preempt_point,
    };
    pub use crate::sched::sudog::{acquire_sudog, release_sudog, Sudog};
    pub use crate::sema::{semacquire, semrelease, NotifyList};
}
