//! The one door to atomics and cells: `std` in normal builds, `loom` under `cfg(loom)` (tokio's
//! `src/loom/mod.rs`). Every atomic in the runtime is imported from here so that the lock-free
//! protocols can be model-checked by swapping this module.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering,
};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering,
};
