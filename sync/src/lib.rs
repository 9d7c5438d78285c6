//! gort-sync: Go's sync package over the runtime semaphore, so every wait parks the goroutine,
//! never the OS thread.
//!
//! Use it through the `gort` facade: `gort::sync` and `gort::context`.
//!
//! # Examples
//!
//! ```
//! use gort::sync::{Mutex, WaitGroup};
//! use std::sync::Arc;
//!
//! gort::run(|| {
//!     let total = Arc::new(Mutex::new(0));
//!     let wg = Arc::new(WaitGroup::new());
//!     for i in 1..=10 {
//!         let total = total.clone();
//!         wg.go(move || *total.lock() += i); // ten goroutines share the mutex
//!     }
//!     wg.wait(); // parks the main goroutine until all ten are done
//!     assert_eq!(*total.lock(), 55);
//! });
//! ```
#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

mod cond;
pub mod context;
pub mod errgroup;
mod locked;
mod mutex;
mod once;
mod pool;
mod rwmutex;
mod semaphore;
pub mod singleflight;
mod waitgroup;

pub use cond::Cond;
pub use mutex::{Mutex, MutexGuard, RawMutex};
pub use once::{Once, OnceValue};
pub use pool::Pool;
pub use rwmutex::{RawRwMutex, RwMutex, RwMutexReadGuard, RwMutexWriteGuard};
pub use semaphore::Semaphore;
pub use waitgroup::WaitGroup;
