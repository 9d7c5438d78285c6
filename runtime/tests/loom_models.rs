//! Loom models of gort's lock-free protocols, one module per protocol. They are compiled only
//! under `RUSTFLAGS="--cfg loom"`, where `gort_runtime::loom` hands out loom's atomics, and
//! `scripts/loom.sh` runs them (with its own target directory, so the normal build cache is
//! kept). In a normal build this test binary is empty.
//!
//! Each model re-implements its protocol in miniature with the facade's atomics, because the
//! runtime itself cannot run under loom (`runtime/src/loom.rs` says why); each model's doc
//! names the real code it mirrors, and a change to that code must change the model too.
//!
//! | Module | Protocol | Real code |
//! | --- | --- | --- |
//! | `runq` | run queue, `runnext` and stealing | `sched/runq.rs` |
//! | `spinning` | "submit" vs "stop spinning" (`wakep`, `needspinning`) | `sched/schedule.rs` |
//! | `park` | park/ready: unlock after the switch, the join bits, the netpoll slot | `sched/park.rs`, `sched/schedule.rs` `execute`, `chan/src/hchan.rs`, `sched/proc.rs`, `netpoll/mod.rs` |
//! | `select` | the `selectdone` win race | `chan/src/waitq.rs`, `chan/src/select.rs` |
//! | `syscall` | sysmon's retake vs `exitsyscall` | `sched/syscall.rs` |
//! | `timer` | timer add vs the M about to block in the netpoller | `time/ptimers.rs`, `sched/schedule.rs` |
//! | `shutdown` | shutdown's `netpoll_break` vs the M about to block in the netpoller (a bug the fuzzer found, fixed) | `sched/proc.rs`, `netpoll/mod.rs`, `sched/schedule.rs` |
//!
//! Tests named `broken_*` are negative controls: they remove one step of a protocol and expect
//! loom to find the failure (`#[should_panic]`), which shows the model can see the bug that
//! step prevents. `shutdown::old_protocol_loses_the_break` models the code as it was before a
//! fix (docs/reliability.md, "Findings"), as a control that the fix was needed.
#![cfg(loom)]

#[path = "loom_models/mini.rs"]
mod mini;
#[path = "loom_models/park.rs"]
mod park;
#[path = "loom_models/runq.rs"]
mod runq;
#[path = "loom_models/select.rs"]
mod select;
#[path = "loom_models/shutdown.rs"]
mod shutdown;
#[path = "loom_models/spinning.rs"]
mod spinning;
#[path = "loom_models/syscall.rs"]
mod syscall;
#[path = "loom_models/timer.rs"]
mod timer;
