//! gort-sync: Go's sync package over the runtime semaphore, so every wait parks the goroutine,
//! never the OS thread.
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

mod waitgroup;

pub use waitgroup::WaitGroup;
