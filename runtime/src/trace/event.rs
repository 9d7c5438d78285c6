//! The execution trace's events: compact records kept in the per-thread buffers and turned into
//! JSON only when the trace stops. Times are nanoseconds since the trace started.

use crate::sched::g::WaitReason;
use std::panic::Location;

/// Why a goroutine stopped running on its P (Go's trace: GoBlock*, GoSched, GoPreempt, GoEnd,
/// GoSysCall).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Parked (`gopark`) with this wait reason.
    Block(WaitReason),
    /// `gosched` (to the global queue) or `goyield` (to the local queue).
    Yield,
    /// Preempted at a check point after its 10 ms slice.
    Preempt,
    /// Its body returned (or panicked).
    Exit,
    /// It entered a blocking call (`runtime::blocking`): its P may go to another M meanwhile.
    Syscall,
}

impl Stop {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stop::Block(r) if r != WaitReason::Zero => r.as_str(),
            Stop::Block(_) => "block",
            Stop::Yield => "yield",
            Stop::Preempt => "preempted",
            Stop::Exit => "end",
            Stop::Syscall => "syscall",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// Goroutine `goid` ran on P `p`, M `m`, from `start` to `end` (a blocking call splits a run:
    /// the P may be handed to another M while the call lasts).
    Run {
        start: u64,
        end: u64,
        goid: u64,
        p: u32,
        m: i64,
        why: Stop,
    },
    /// `parent` (0: no goroutine) started `goid` at `site`.
    Create {
        ts: u64,
        goid: u64,
        parent: u64,
        site: Option<&'static Location<'static>>,
    },
    /// Goroutine `goid` was made runnable by `by` (0: not a goroutine: sysmon, a timer, a plain
    /// thread).
    Unblock { ts: u64, goid: u64, by: u64 },
    /// Goroutine `goid` was in a blocking call (`runtime::blocking`) on M `m`.
    Syscall {
        start: u64,
        end: u64,
        goid: u64,
        m: i64,
    },
}

impl Event {
    /// When the event (or the interval it records) began.
    pub(crate) fn start(&self) -> u64 {
        match *self {
            Event::Run { start, .. } | Event::Syscall { start, .. } => start,
            Event::Create { ts, .. } | Event::Unblock { ts, .. } => ts,
        }
    }
}
