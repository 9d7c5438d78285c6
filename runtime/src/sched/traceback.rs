//! Goroutine dumps in Go's format (Go's `traceback.go`): the one `runtime::stack_dump()`
//! returns, SIGQUIT prints, and the deadlock report ends with.
//!
//! (Go indents the file:line lines with a tab; shown here with spaces.)
//!
//! ```text
//! goroutine 1 [running]:
//! my_app::main::{{closure}}(...)
//!     src/main.rs:12
//!
//! goroutine 7 [chan receive, 3 minutes]:
//! gort::Chan::recv(...)
//!     src/main.rs:8
//! created by my_app::main::{{closure}} in goroutine 1
//!     src/main.rs:6
//! ```
//!
//! # What each goroutine shows
//! - The header follows Go's `goroutineheader` exactly: the status word (Go's `gStatusStrings`),
//!   replaced by the wait reason for a waiting G with one; `, N minutes` once a waiting or
//!   syscall G has been blocked for at least one minute (integer minutes, so `1 minutes`, as
//!   Go prints); then `]:`. gort has no `LockOSThread`, so never `, locked to thread`.
//! - Frames. The goroutine calling `stack_dump` gets its real, symbolized frames: std's
//!   `Backtrace` unwinds the running coroutine (corosensei's stacks carry unwind info), cut
//!   to the frames of the goroutine's own body. Another goroutine is not on any thread's stack,
//!   and walking a suspended coroutine would need an unwinder that starts from saved registers
//!   (not in std) and a symbolizer (std's is private), so for it gort prints the one frame it
//!   records cheaply: the gort call it is blocked in (named after its wait reason) and the
//!   source line that called it (`G::parkpc`, from `#[track_caller]`, see `park.rs`). A
//!   running or syscall G gets Go's `goroutine running on other thread; stack unavailable`.
//! - `created by F in goroutine N` and the `go` call's file:line (Go's `printcreatedby`),
//!   except for goroutine 1. F is the function that defined the spawned closure: the closure's
//!   type name minus its last `::{{closure}}` (a non-closure body, say a `fn` item, gives the
//!   spawn call itself, `gort::go`). Generic arguments print as `<...>`, as Go prints `[...]`.
//!   ` in goroutine N` is left out when the creator was no goroutine (a timer callback), as Go
//!   leaves it out for a zero parent id.
//!
//! Go prints `+0x1d` pc offsets after file:line; gort has no pcs for recorded sites and prints
//! none. Everything is read racily, as Go's `tracebackothers` reads: a goroutine may change
//! state while it is printed.

use crate::loom::Ordering;
use crate::sched::g::{GPtr, GStatus, OriginInfo, WaitReason};
use crate::sched::Sched;
use std::fmt::Write;
use std::panic::Location;

/// Go's `gStatusStrings` for the statuses gort uses.
pub(crate) fn status_string(s: GStatus) -> &'static str {
    match s {
        GStatus::Idle => "idle",
        GStatus::Runnable => "runnable",
        GStatus::Running => "running",
        GStatus::Syscall => "syscall",
        GStatus::Waiting => "waiting",
        GStatus::Dead => "dead",
    }
}

/// Go's `goroutineheader`, without the trailing newline: `goroutine N [status]:`. `waited_ns` is
/// `nanotime() - waitsince`, or `None` when `waitsince` is unknown (Go's `waitsince == 0`).
///
/// Go: `goroutineheader` (traceback.go).
pub(crate) fn goroutine_header(
    goid: u64,
    status: GStatus,
    reason: WaitReason,
    waited_ns: Option<i64>,
) -> String {
    let mut st = status_string(status);
    if status == GStatus::Waiting && reason != WaitReason::Zero {
        st = reason.as_str();
    }
    let mut waitfor = 0;
    if matches!(status, GStatus::Waiting | GStatus::Syscall) {
        if let Some(ns) = waited_ns {
            waitfor = ns / 60_000_000_000;
        }
    }
    let mut out = format!("goroutine {goid} [{st}");
    if waitfor >= 1 {
        let _ = write!(out, ", {waitfor} minutes");
    }
    out.push_str("]:");
    out
}

/// The gort call a goroutine parked or yielded in, for its recorded frame. A runnable G that was
/// readied keeps its wait reason until it runs (it is about to return from that call); one that
/// yielded has none (`gosched`) or `Preempted`.
fn parked_in(status: GStatus, reason: WaitReason) -> &'static str {
    match (status, reason) {
        (GStatus::Waiting, WaitReason::Zero) => "gort::runtime::gopark",
        (_, WaitReason::Zero) => "gort::runtime::gosched",
        (_, WaitReason::Preempted) => "gort::runtime::preempt_point",
        (_, WaitReason::ChanReceive) => "gort::Chan::recv",
        (_, WaitReason::ChanSend) => "gort::Chan::send",
        (_, WaitReason::ChanReceiveNilChan) => "gort::Chan::recv",
        (_, WaitReason::ChanSendNilChan) => "gort::Chan::send",
        (_, WaitReason::Select | WaitReason::SelectNoCases) => "gort::select",
        (_, WaitReason::Sleep) => "gort::time::sleep",
        (_, WaitReason::SyncCondWait) => "gort::sync::Cond::wait",
        (_, WaitReason::SyncMutexLock) => "gort::sync::Mutex::lock",
        (_, WaitReason::SyncRWMutexRLock) => "gort::sync::RwMutex::read",
        (_, WaitReason::SyncRWMutexLock) => "gort::sync::RwMutex::write",
        (_, WaitReason::SyncWaitGroupWait) => "gort::sync::WaitGroup::wait",
        (_, WaitReason::Semacquire) => "gort::runtime::semacquire",
        (_, WaitReason::IoWait) => "gort::net",
        (_, WaitReason::JoinWait) => "gort::JoinHandle::join",
    }
}

/// A function name as Go's `funcNamePiecesForPrint` prints one: generic arguments elided
/// (`f<...>`, Go's `f[...]`).
pub(crate) fn print_func_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0u32;
    for c in name.chars() {
        match c {
            '<' => {
                if depth == 0 {
                    out.push_str("<...>");
                }
                depth += 1;
            }
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The function that created a goroutine, from its body's type name: the closure's defining
/// function, or `gort::go` for a body that is no closure.
pub(crate) fn creator_name(start_name: Option<&str>) -> String {
    match start_name.and_then(|n| n.strip_suffix("::{{closure}}")) {
        Some(f) => print_func_name(f),
        None => "gort::go".to_string(),
    }
}

fn write_location(out: &mut String, loc: &Location<'_>) {
    let _ = writeln!(out, "\t{}:{}", loc.file(), loc.line());
}

/// Go's `printcreatedby`: nothing for goroutine 1 or when the `go` site is unknown.
///
/// Go: `printcreatedby1` (traceback.go).
pub(crate) fn write_created_by(out: &mut String, goid: u64, origin: &OriginInfo) {
    let Some(gopc) = origin.gopc else { return };
    if goid == 1 {
        return;
    }
    let _ = write!(out, "created by {}", creator_name(origin.start_name));
    if origin.parent_goid != 0 {
        let _ = write!(out, " in goroutine {}", origin.parent_goid);
    }
    out.push('\n');
    write_location(out, gopc);
}

/// What a dump prints about one goroutine, read from its G (or, in tests, made up).
pub(crate) struct GoroutineRecord {
    pub goid: u64,
    pub status: GStatus,
    pub reason: WaitReason,
    pub waited_ns: Option<i64>,
    pub parkpc: Option<&'static Location<'static>>,
    pub origin: OriginInfo,
}

impl GoroutineRecord {
    fn read(gp: GPtr, now: i64) -> GoroutineRecord {
        // ORDERING: diagnostic snapshot.
        let since = gp.waitsince.load(Ordering::Relaxed);
        GoroutineRecord {
            goid: gp.goid(),
            status: gp.status(),
            reason: gp.wait_reason(),
            waited_ns: (since != 0).then_some(now - since),
            parkpc: gp.park_site(),
            origin: gp.origin.get(),
        }
    }
}

/// One goroutine's block: header, frames, created-by, each line ending in a newline (a dump
/// puts a blank line between blocks). `frames` replaces the recorded frame (the calling
/// goroutine's own backtrace).
pub(crate) fn format_goroutine(r: &GoroutineRecord, frames: Option<&str>) -> String {
    let mut out = goroutine_header(r.goid, r.status, r.reason, r.waited_ns);
    out.push('\n');
    match (frames, r.status) {
        (Some(f), _) => out.push_str(f),
        (None, GStatus::Running | GStatus::Syscall) => {
            out.push_str("\tgoroutine running on other thread; stack unavailable\n");
        }
        (None, _) => {
            if let Some(f) = crate::sched::parkstacks::frames(r.goid) {
                out.push_str(&f);
            } else if let Some(pc) = r.parkpc {
                let _ = writeln!(out, "{}(...)", parked_in(r.status, r.reason));
                write_location(&mut out, pc);
            }
        }
    }
    write_created_by(&mut out, r.goid, &r.origin);
    out
}

/// Reformats std's `Backtrace` text (`  N: name` / `at file:line:col` lines) as Go frames
/// (`name(...)` / `\tfile:line`), keeping only the frames of the goroutine's own code: those
/// below the dump machinery (`std::backtrace`, this module, `stack_dump`) and above the
/// goroutine's entry (`catch_unwind` in `newproc`, the coroutine trampoline).
pub(crate) fn go_frames(backtrace: &str) -> String {
    struct Frame<'a> {
        name: &'a str,
        at: Option<&'a str>,
    }
    let mut frames: Vec<Frame<'_>> = Vec::new();
    for line in backtrace.lines() {
        let t = line.trim();
        if let Some(at) = t.strip_prefix("at ") {
            if let Some(f) = frames.last_mut() {
                f.at.get_or_insert(at);
            }
            continue;
        }
        let name = match t.split_once(": ") {
            Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => t,
        };
        if !name.is_empty() {
            frames.push(Frame { name, at: None });
        }
    }
    let is_dumper = |n: &str| {
        n.starts_with("std::backtrace")
            || n.starts_with("gort_runtime::sched::traceback::")
            || n.starts_with("gort_runtime::sched::parkstacks::")
            || n.starts_with("gort_runtime::sched::park::park_g")
            || n.starts_with("gort_runtime::runtime::stack_dump")
    };
    let start = frames
        .iter()
        .rposition(|f| is_dumper(f.name))
        .map_or(0, |i| i + 1);
    let is_entry = |n: &str| {
        n.starts_with("gort_runtime::sched::proc::newproc_on")
            || n.starts_with("gort_runtime::coro::")
            || n.starts_with("corosensei::")
    };
    let end = frames[start..]
        .iter()
        .position(|f| is_entry(f.name))
        .map_or(frames.len(), |i| start + i);
    // The body's `catch_unwind` wrapper frames sit just above the entry.
    let mut end = end;
    while end > start {
        let n = frames[end - 1].name;
        if n.starts_with("std::panicking::")
            || n.starts_with("std::panic::catch_unwind")
            || n.starts_with("<core::panic::unwind_safe::AssertUnwindSafe")
        {
            end -= 1;
        } else {
            break;
        }
    }
    let mut out = String::new();
    for f in &frames[start..end] {
        let _ = writeln!(out, "{}(...)", print_func_name(f.name));
        // `at file:line:col`: Go prints file:line. std writes paths under the working directory
        // as `./src/...`; `Location` (the recorded frames) as `src/...`.
        let at =
            f.at.map(|a| a.rsplit_once(':').map_or(a, |(file_line, _col)| file_line));
        match at.map(|a| a.strip_prefix("./").unwrap_or(a)) {
            Some(file_line) => {
                let _ = writeln!(out, "\t{file_line}");
            }
            None => out.push_str("\t?\n"),
        }
    }
    out
}

/// Every goroutine as Go prints them: the calling goroutine first (with its own frames), then
/// the others by goroutine id. Dead goroutines are left out. Every goroutine is read first, and
/// only then is the caller's backtrace taken: symbolizing it can take a long time (the first
/// time, std reads the debug info), and the others should be seen as they were when asked.
///
/// Go: `runtime.Stack(buf, true)` and `tracebackothers` (traceback.go).
pub(crate) fn goroutine_dump(sched: &Sched) -> String {
    let now = sched.nanotime();
    let me = crate::sched::m::getg().filter(|g| std::ptr::eq(g.sched(), sched));
    let mut gs = all_gs(sched);
    gs.sort_by_key(|g| g.goid());
    let mine = me.map(|g| GoroutineRecord::read(g, now));
    let others: Vec<GoroutineRecord> = gs
        .into_iter()
        .filter(|&gp| Some(gp) != me)
        .map(|gp| GoroutineRecord::read(gp, now))
        .filter(|r| !matches!(r.status, GStatus::Dead | GStatus::Idle))
        .collect();
    let mut out = String::new();
    if let Some(r) = mine {
        let bt = std::backtrace::Backtrace::force_capture().to_string();
        out.push_str(&format_goroutine(&r, Some(&go_frames(&bt))));
    }
    for r in &others {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format_goroutine(r, None));
    }
    out
}

/// A snapshot of `allgs`, in creation order (Go's `forEachG`).
pub(crate) fn all_gs(sched: &Sched) -> Vec<GPtr> {
    sched.allglock.lock();
    // SAFETY: `allgs` is protected by `allglock`, held.
    let v = unsafe { (*sched.allgs.get()).clone() };
    sched.allglock.unlock();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(
        parent: u64,
        gopc: Option<&'static Location<'static>>,
        name: &'static str,
    ) -> OriginInfo {
        OriginInfo {
            parent_goid: parent,
            gopc,
            start_name: Some(name),
        }
    }

    #[test]
    fn header_follows_goroutineheader() {
        use GStatus::*;
        use WaitReason as W;
        let h = goroutine_header;
        assert_eq!(h(1, Running, W::Zero, None), "goroutine 1 [running]:");
        assert_eq!(h(2, Runnable, W::Zero, None), "goroutine 2 [runnable]:");
        assert_eq!(h(3, Syscall, W::Zero, None), "goroutine 3 [syscall]:");
        // A waiting G with no reason prints the status word.
        assert_eq!(h(4, Waiting, W::Zero, None), "goroutine 4 [waiting]:");
        assert_eq!(
            h(7, Waiting, W::ChanReceive, Some(0)),
            "goroutine 7 [chan receive]:"
        );
        // Minutes: integer division by 60e9, shown from 1 on ("1 minutes", as Go prints).
        let min = 60_000_000_000;
        assert_eq!(
            h(7, Waiting, W::ChanReceive, Some(min - 1)),
            "goroutine 7 [chan receive]:"
        );
        assert_eq!(
            h(7, Waiting, W::ChanReceive, Some(min)),
            "goroutine 7 [chan receive, 1 minutes]:"
        );
        assert_eq!(
            h(7, Waiting, W::ChanReceive, Some(3 * min + min / 2)),
            "goroutine 7 [chan receive, 3 minutes]:"
        );
        assert_eq!(
            h(9, Syscall, W::Zero, Some(125 * min)),
            "goroutine 9 [syscall, 125 minutes]:"
        );
        // Only waiting and syscall Gs show how long; a runnable one that parked long ago not.
        assert_eq!(
            h(5, Runnable, W::Preempted, Some(10 * min)),
            "goroutine 5 [runnable]:"
        );
        assert_eq!(
            h(5, Running, W::Zero, Some(10 * min)),
            "goroutine 5 [running]:"
        );
        // Unknown waitsince (Go's `waitsince == 0`): no minutes.
        assert_eq!(h(6, Waiting, W::Sleep, None), "goroutine 6 [sleep]:");
    }

    /// Every wait reason prints as Go's `waitReasonStrings` entry (runtime2.go); `JoinWait` is
    /// gort's own.
    #[test]
    fn wait_reasons_are_gos_strings() {
        use WaitReason as W;
        let cases = [
            (W::ChanReceiveNilChan, "chan receive (nil chan)"),
            (W::ChanSendNilChan, "chan send (nil chan)"),
            (W::SelectNoCases, "select (no cases)"),
            (W::Select, "select"),
            (W::ChanReceive, "chan receive"),
            (W::ChanSend, "chan send"),
            (W::Semacquire, "semacquire"),
            (W::Sleep, "sleep"),
            (W::SyncCondWait, "sync.Cond.Wait"),
            (W::SyncMutexLock, "sync.Mutex.Lock"),
            (W::SyncRWMutexRLock, "sync.RWMutex.RLock"),
            (W::SyncRWMutexLock, "sync.RWMutex.Lock"),
            (W::SyncWaitGroupWait, "sync.WaitGroup.Wait"),
            (W::IoWait, "IO wait"),
            (W::Preempted, "preempted"),
            (W::JoinWait, "JoinHandle.join"),
        ];
        for (r, s) in cases {
            assert_eq!(r.as_str(), s);
            assert_eq!(
                goroutine_header(12, GStatus::Waiting, r, Some(0)),
                format!("goroutine 12 [{s}]:")
            );
        }
        assert_eq!(W::Zero.as_str(), "");
    }

    #[test]
    fn func_names_print_like_go() {
        assert_eq!(print_func_name("a::b::c"), "a::b::c");
        assert_eq!(
            print_func_name(
                "gort_sync::waitgroup::WaitGroup::go<app::main::{{closure}}>::{{closure}}"
            ),
            "gort_sync::waitgroup::WaitGroup::go<...>::{{closure}}"
        );
        assert_eq!(print_func_name("a::f<Vec<u8>, u32>::g"), "a::f<...>::g");
        assert_eq!(
            creator_name(Some("app::main::{{closure}}::{{closure}}")),
            "app::main::{{closure}}"
        );
        assert_eq!(creator_name(Some("app::worker")), "gort::go");
        assert_eq!(creator_name(None), "gort::go");
    }

    #[test]
    fn goroutine_block_golden() {
        let park: &'static Location<'static> = Location::caller();
        let go: &'static Location<'static> = Location::caller();
        let r = GoroutineRecord {
            goid: 7,
            status: GStatus::Waiting,
            reason: WaitReason::ChanReceive,
            waited_ns: Some(3 * 60_000_000_000 + 5),
            parkpc: Some(park),
            origin: origin(1, Some(go), "app::main::{{closure}}::{{closure}}"),
        };
        let want = format!(
            "goroutine 7 [chan receive, 3 minutes]:\n\
             gort::Chan::recv(...)\n\
             \t{}:{}\n\
             created by app::main::{{{{closure}}}} in goroutine 1\n\
             \t{}:{}\n",
            park.file(),
            park.line(),
            go.file(),
            go.line()
        );
        assert_eq!(format_goroutine(&r, None), want);

        // Goroutine 1: no "created by"; a running G elsewhere: Go's "stack unavailable".
        let main = GoroutineRecord {
            goid: 1,
            status: GStatus::Running,
            reason: WaitReason::Zero,
            waited_ns: None,
            parkpc: Some(park),
            origin: origin(0, None, "app::main::{{closure}}"),
        };
        assert_eq!(
            format_goroutine(&main, None),
            "goroutine 1 [running]:\n\tgoroutine running on other thread; stack unavailable\n"
        );

        // Readied but not yet running: it shows the call it is about to return from.
        let readied = GoroutineRecord {
            status: GStatus::Runnable,
            waited_ns: Some(5 * 60_000_000_000),
            ..r
        };
        assert!(format_goroutine(&readied, None)
            .starts_with("goroutine 7 [runnable]:\ngort::Chan::recv(...)\n"));

        // A timer goroutine (no parent): no " in goroutine N". Never parked: no frame.
        let timer = GoroutineRecord {
            goid: 20,
            status: GStatus::Runnable,
            reason: WaitReason::Zero,
            waited_ns: None,
            parkpc: None,
            origin: origin(0, Some(go), "gort_runtime::time::fire::{{closure}}"),
        };
        assert_eq!(
            format_goroutine(&timer, None),
            format!(
                "goroutine 20 [runnable]:\ncreated by gort_runtime::time::fire\n\t{}:{}\n",
                go.file(),
                go.line()
            )
        );
    }

    #[test]
    fn std_backtrace_becomes_go_frames() {
        let bt = "   0: std::backtrace::Backtrace::force_capture
             at /rustc/x/library/std/src/backtrace.rs:310:9
   1: gort_runtime::sched::traceback::goroutine_dump
             at /w/runtime/src/sched/traceback.rs:280:18
   2: gort_runtime::runtime::stack_dump
             at /w/runtime/src/lib.rs:120:9
   3: app::helper<u32>
             at ./src/main.rs:1:39
      app::inlined
             at ./src/main.rs:9:5
   4: app::main::{{closure}}::{{closure}}
             at ./src/main.rs:4:29
   5: <core::panic::unwind_safe::AssertUnwindSafe<F> as core::ops::function::FnOnce<()>>::call_once
             at /rustc/x/library/core/src/panic/unwind_safe.rs:274:9
   6: std::panicking::catch_unwind::do_call
             at /rustc/x/library/std/src/panicking.rs:581:40
   7: std::panic::catch_unwind
             at /rustc/x/library/std/src/panic.rs:359:14
   8: gort_runtime::sched::proc::newproc_on::{{closure}}
             at /w/runtime/src/sched/proc.rs:319:17
   9: corosensei::coroutine::Coroutine<Input,Yield,Return,Stack>::resume
  10: stack_init_trampoline
";
        assert_eq!(
            go_frames(bt),
            "app::helper<...>(...)\n\tsrc/main.rs:1\n\
             app::inlined(...)\n\tsrc/main.rs:9\n\
             app::main::{{closure}}::{{closure}}(...)\n\tsrc/main.rs:4\n"
        );
    }
}
