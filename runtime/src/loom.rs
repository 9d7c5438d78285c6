//! The one door to atomics: `std`'s in normal builds, `loom`'s under `RUSTFLAGS="--cfg loom"`
//! (tokio's `src/loom/mod.rs`). Every atomic in the workspace is named through this module
//! (`crate::loom` in the runtime, `gort_runtime::loom` in the channel and sync crates), so one
//! switch hands them all to the model checker; `.ci/run` fails if `std::sync::atomic` is named
//! anywhere else.
//!
//! # Under `cfg(loom)`
//! - This module re-exports loom's atomics and `fence`, which record every access for loom's
//!   exhaustive exploration of interleavings and weak-memory outcomes. They exist only inside
//!   `loom::model`, and their constructors are not `const`.
//! - The rest of the crate is compiled out (`lib.rs`): the runtime proper cannot run under
//!   loom. Its atomics live in `static`s and `const fn` constructors, the futex lock needs an
//!   atomic's address (`as_ptr`), goroutines switch stacks (corosensei) where loom cannot
//!   follow, Ms are OS threads, and the run queue is crossbeam-deque with its own atomics.
//! - So each lock-free protocol is checked by a miniature of it in
//!   `runtime/tests/loom_models/`, written with this module's atomics; each model's doc names
//!   the real code it mirrors. `scripts/loom.sh` runs them all.
//!
//! # Invariants
//! - Both branches export the same names, so code written against this module compiles in
//!   either build.
//! - loom treats `SeqCst` loads, stores and read-modify-writes as `AcqRel` (loom's README,
//!   "Limitations"); only `fence(SeqCst)` is sequentially consistent there. A model of a
//!   StoreLoad protocol built from `SeqCst` accesses therefore writes the StoreLoad as a
//!   `fence(SeqCst)` and says so.

#[cfg(not(loom))]
pub use std::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8,
    AtomicUsize, Ordering,
};

#[cfg(loom)]
pub use loom::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8,
    AtomicUsize, Ordering,
};

/// A compiler-only fence: it keeps the compiler from moving this thread's own accesses across
/// it (which a `membarrier` from another thread then orders, see `sched/pclaim.rs`); it orders
/// nothing between threads by itself.
#[cfg(not(loom))]
pub use std::sync::atomic::compiler_fence;

/// See the non-loom `compiler_fence`. A no-op under loom, which models no compiler.
#[cfg(loom)]
pub fn compiler_fence(_: Ordering) {}
