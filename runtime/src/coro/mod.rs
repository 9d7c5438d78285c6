//! The only module that names corosensei: a goroutine's coroutine, what it yields to its M when it
//! stops running, and its stacks (`stack`).
//!
//! # Invariants
//! - A `Coro` is resumed only by the M that owns the G (status Running), one M at a time.
//! - The G body never unwinds into `resume`: `newproc` wraps user code in `catch_unwind` inside
//!   the coroutine, so a panic is a G-level event.

pub mod overflow;
pub mod stack;
mod valgrind;

use corosensei::{Coroutine, Yielder};

pub use stack::StackSlot;

/// An unlock function run by the M after the G is off its stack (Go's `waitunlockf`). Returning
/// false cancels the park: the G is made runnable again at once.
pub type UnlockFn = unsafe fn(gp: crate::sched::g::GPtr, arg: *mut ()) -> bool;

/// What a G hands its M when it suspends.
pub(crate) enum Suspend {
    /// `gopark`: block until `goready`. The unlock runs on the M after the switch.
    Park {
        unlockf: Option<UnlockFn>,
        arg: *mut (),
    },
    /// `gosched`: back to the global run queue.
    Yield,
    /// Preempted by sysmon at a check point: back to the global run queue.
    Preempt,
    /// `exitsyscall` found no P: the G goes to the global run queue and its M sleeps.
    ExitSyscall,
    /// `goyield`: to the tail of this P's local run queue (a semaphore hand-off lets the woken
    /// waiter run now).
    YieldLocal,
}

pub(crate) type Coro = Coroutine<(), Suspend, (), StackSlot>;
pub(crate) type GYielder = Yielder<(), Suspend>;

/// Creates the coroutine for a G body on `stack`.
pub(crate) fn new_coro<F>(stack: StackSlot, body: F) -> Coro
where
    F: FnOnce(&GYielder) + 'static,
{
    stack.mark_fresh();
    Coroutine::with_stack(stack, move |y: &GYielder, ()| body(y))
}
