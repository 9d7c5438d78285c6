//! The one door to atomics and cells: `std` in normal builds, `loom` under `cfg(loom)` (tokio's
//! `src/loom/mod.rs`). Every atomic in the runtime is imported from here so that the lock-free
//! protocols can be model-checked by swapping this module.

//! gort's channel and sync crates import their atomics from here too (`gort_runtime::loom`), so
//! one switch covers the whole workspace. `.ci/run` fails if std's atomics are named anywhere
//! else.

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
