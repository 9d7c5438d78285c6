//! gort: Go's concurrency runtime for Rust. Goroutines are stackful coroutines scheduled M:N on
//! OS threads by a G/M/P work-stealing scheduler; channels, select and the sync package park
//! goroutines, never OS threads.
//!
//! ```
//! gort::run(|| {
//!     let c = gort::chan::<i32>(0);
//!     let tx = c.clone();
//!     let h = gort::go(move || { tx.send(6 * 7); tx.close(); });
//!     assert_eq!(c.recv(), Some(42));
//!     assert_eq!(c.recv(), None);
//!     h.join().unwrap();
//! });
//! ```
#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

pub use gort_chan::{chan, select, Chan, Receiver, Select, Sender, TryRecvError, TrySendError};
pub use gort_runtime::{go, run, runtime, trace, Builder, JoinHandle, Metrics, Panic};

pub use gort_sync::context;
pub mod fs;
pub mod net;
pub mod time;

/// Go's sync package.
pub mod sync {
    pub use gort_sync::*;
}

/// The user guide (`docs/guide.md`), compiled here so that `cargo test --doc` runs its examples.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
pub struct GuideDoctests;
