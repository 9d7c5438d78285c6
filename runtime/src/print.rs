//! The runtime's own output (Go's `print`/`println` in the runtime): fatal errors, panics that
//! end the process, deadlock reports, SIGQUIT dumps, schedtrace lines, warnings.
//!
//! It is written straight to the process's standard error, not through `eprint!`: inside a
//! `cargo test` binary, libtest captures `eprint!` output per test (and in every thread that
//! test spawned, so in gort's Ms too) and prints it only when the test fails normally. A runtime
//! that ends the process with `exit(2)` or `abort` would lose its message there, and a
//! deadlock or a detached panic in a test would end as a silent exit status.
//!
//! # Invariants
//! - One `write_all` per message under the stderr lock, so concurrent messages do not
//!   interleave within a line; errors writing are ignored (there is nowhere else to report them).

use std::io::Write;

/// Writes `s` to standard error, bypassing libtest's output capture.
pub(crate) fn stderr(s: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}
