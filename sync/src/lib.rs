//! gort-sync: Go's sync package over the runtime semaphore, so every wait parks the goroutine,
//! never the OS thread.
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

mod cond;
mod mutex;
mod once;
mod rwmutex;
mod waitgroup;

pub use cond::Cond;
pub use mutex::{Mutex, MutexGuard, RawMutex};
pub use once::{Once, OnceValue};
pub use rwmutex::{RawRwMutex, RwMutex, RwMutexReadGuard, RwMutexWriteGuard};
pub use waitgroup::WaitGroup;
