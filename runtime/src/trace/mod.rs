//! The execution trace (Go's `runtime/trace`): `start(path)` / `stop()`, or `GORT_TRACE=path` for
//! a whole run, record what the scheduler does and write it as Chrome trace-event JSON, which
//! Perfetto (ui.perfetto.dev) and chrome://tracing open. See `json` for the tracks.
//!
//! Recorded: goroutine creation (with the parent and the `go` call's file:line), every interval
//! a goroutine runs on a P and an M and why it stopped (its wait reason, a yield, a preemption, a
//! blocking call, its end), each unblock (`goready`, with the waker), and blocking calls
//! (`runtime::blocking`). Not recorded: goroutines the netpoller readies (no unblock event;
//! their next run shows), and Ms while idle or spinning (the gaps).
//!
//! # Cost
//! Off, every hook is one relaxed load of `ON` and a not-taken branch (`#[inline]` fast paths,
//! out-of-line `#[cold]` slow paths). The hooks sit on the goroutine's side of a switch
//! (`park_g`, the body's start and end, `goready`, `newproc`, the blocking-call enter and exit),
//! not in the M loop (`execute`): the cost is the same either way (callgrind: about 29
//! instructions per spawn-and-join, and per unbuffered ping-pong round trip), and the M loop
//! stays free of tracing. On, an event is a clock read and a push into the calling
//! thread's own buffer under that buffer's own lock (`buf`): no lock or shared atomic written
//! across threads. JSON is made only at `stop`.
//!
//! # Scope
//! The trace is process-wide: with several runtimes running at once their events share one file,
//! and their M, P and goroutine ids overlap. `GORT_TRACE` is honoured by the first `gort::run`
//! that finds no trace running; it writes the file when that run returns (not on a deadlock or
//! a fatal panic, which exit first).
//!
//! # Invariants
//! - `STATE` is locked only by `start`, `stop` and their env wrappers, never on the event path
//!   and never by a goroutine that then parks.
//! - An open interval is closed only in the session it began in (`buf`).

mod buf;
mod event;
mod json;

use crate::coro::Suspend;
use crate::loom::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use crate::sched::g::GPtr;
use crate::sched::m::M;
use buf::{with_local, Open};
use event::{Event, Stop};
use std::fs::File;
use std::io::{self, BufWriter};
use std::panic::Location;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Whether a trace is being recorded. The one word every hook reads.
static ON: AtomicBool = AtomicBool::new(false);
/// Counts `start`s, so an interval begun before a restart is not closed after it.
static SESSION: AtomicU32 = AtomicU32::new(0);
/// When the current session started, in `now()` nanoseconds.
static BASE: AtomicU64 = AtomicU64::new(0);
/// The file being written to, while a trace runs, and whether `GORT_TRACE` started it.
static STATE: Mutex<Option<(File, bool)>> = Mutex::new(None);

/// Nanoseconds since the process's first trace clock read.
fn now() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn session() -> u32 {
    // ORDERING: Relaxed: a thread that sees a new session late only drops an interval at the
    // session's edge.
    SESSION.load(Ordering::Relaxed)
}

/// Whether a trace is being recorded.
///
/// # Examples
/// ```
/// let path = std::env::temp_dir().join(format!("gort-doc-on-{}.json", std::process::id()));
/// assert!(!gort::trace::is_enabled());
/// gort::trace::start(&path).unwrap();
/// assert!(gort::trace::is_enabled());
/// gort::trace::stop().unwrap();
/// assert!(!gort::trace::is_enabled());
/// std::fs::remove_file(&path).unwrap();
/// ```
#[inline]
pub fn is_enabled() -> bool {
    // ORDERING: Relaxed: the hooks' only shared read. A thread that sees a start or a stop late
    // records a few events more or less at the trace's edges, nothing else.
    ON.load(Ordering::Relaxed)
}

/// Starts recording an execution trace into `path` (created or truncated now), until [`stop`].
///
/// # Errors
/// If a trace is already being recorded (`AlreadyExists`), or `path` cannot be created.
///
/// # Examples
/// ```
/// let path = std::env::temp_dir().join(format!("gort-doc-{}.json", std::process::id()));
/// gort_runtime::trace::start(&path).unwrap();
/// gort_runtime::run(|| gort_runtime::go(|| 6 * 7).join().unwrap());
/// gort_runtime::trace::stop().unwrap();
/// let json = std::fs::read_to_string(&path).unwrap();
/// assert!(json.starts_with("{\"traceEvents\":["));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn start(path: impl AsRef<Path>) -> io::Result<()> {
    start_as(path.as_ref(), false)
}

fn start_as(path: &Path, from_env: bool) -> io::Result<()> {
    let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if st.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "gort::trace::start: a trace is already being recorded (call stop first)",
        ));
    }
    let f = File::create(path)?;
    // Events left over from an earlier session (pushed just after its stop) are discarded.
    drop(buf::drain_all());
    // ORDERING: Relaxed, all three: `BASE` is read back by `stop` under `STATE`; for `SESSION`
    // and `ON` see `session` and `is_enabled` (a late view only moves the trace's edges).
    BASE.store(now(), Ordering::Relaxed);
    SESSION.fetch_add(1, Ordering::Relaxed);
    ON.store(true, Ordering::Relaxed);
    *st = Some((f, from_env));
    Ok(())
}

/// Stops the trace and writes it out.
///
/// # Errors
/// If no trace is being recorded (`NotFound`), or writing the file fails.
///
/// # Examples
/// ```
/// let err = gort::trace::stop().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound); // no trace is running
/// let path = std::env::temp_dir().join(format!("gort-doc-stop-{}.json", std::process::id()));
/// gort::trace::start(&path).unwrap();
/// gort::run(|| gort::go(|| ()).join().unwrap());
/// gort::trace::stop().unwrap(); // writes the file
/// assert!(std::fs::read_to_string(&path).unwrap().contains("\"traceEvents\""));
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn stop() -> io::Result<()> {
    let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let Some((f, _)) = st.take() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "gort::trace::stop: no trace is being recorded",
        ));
    };
    // ORDERING: see `is_enabled`.
    ON.store(false, Ordering::Relaxed);
    let (mut events, dropped) = buf::drain_all();
    // ORDERING: written by `start` before this session's events; both under `STATE`.
    let base = BASE.load(Ordering::Relaxed);
    rebase(&mut events, base);
    // Threads' buffers are drained one after another; readers like time order.
    events.sort_by_key(Event::start);
    json::write(&mut BufWriter::new(f), &events, dropped)
}

/// Makes event times relative to the session's start.
fn rebase(events: &mut [Event], base: u64) {
    let r = |t: &mut u64| *t = t.saturating_sub(base);
    for e in events {
        match e {
            Event::Run { start, end, .. } | Event::Syscall { start, end, .. } => {
                r(start);
                r(end);
            }
            Event::Create { ts, .. } | Event::Unblock { ts, .. } => r(ts),
        }
    }
}

/// `GORT_TRACE=path`: starts a trace for this run if none is running. Returns whether it did.
pub(crate) fn start_from_env() -> bool {
    let Some(path) = std::env::var_os("GORT_TRACE").filter(|p| !p.is_empty()) else {
        return false;
    };
    match start_as(Path::new(&path), true) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            eprintln!("gort: GORT_TRACE={path:?}: cannot trace: {e}");
            false
        }
    }
}

/// Ends the trace `start_from_env` started, if it is still the running one.
pub(crate) fn stop_from_env() {
    let ours = matches!(
        &*STATE.lock().unwrap_or_else(|e| e.into_inner()),
        Some((_, true))
    );
    if ours {
        if let Err(e) = stop() {
            eprintln!("gort: GORT_TRACE: cannot write the trace: {e}");
        }
    }
}

/// A goroutine was created by `parent` (0: none) at `site` (null: none).
#[inline]
pub(crate) fn go_create(gp: GPtr, parent: u64, site: *const Location<'static>) {
    if is_enabled() {
        go_create_slow(gp, parent, site);
    }
}

#[cold]
#[inline(never)]
fn go_create_slow(gp: GPtr, parent: u64, site: *const Location<'static>) {
    let e = Event::Create {
        ts: now(),
        goid: gp.goid(),
        parent,
        // SAFETY: `site` is null or a `&'static Location` (`newproc_on`'s contract).
        site: unsafe { site.as_ref() },
    };
    with_local(|l| l.buf.push(e));
}

/// `gp` starts or resumes running, on this thread's M and the P it holds. Called by the G
/// itself (its body's first line, or `park_g` after its suspend returned), so the M loop's
/// hot, inlined resume carries no hook.
#[inline]
pub(crate) fn go_start(gp: GPtr) {
    if is_enabled() {
        go_start_slow(gp);
    }
}

#[cold]
#[inline(never)]
fn go_start_slow(gp: GPtr) {
    let Some(mp) = crate::sched::m::getm() else {
        return;
    };
    let Some(pp) = mp.p() else { return };
    let open = Open {
        session: session(),
        start: now(),
        what: (gp.goid(), pp.id, mp.id),
    };
    with_local(|l| l.run.set(Some(open)));
}

/// `gp` is about to suspend with `what` (called by the G in `park_g`).
#[inline]
pub(crate) fn go_park(gp: GPtr, what: &Suspend) {
    if is_enabled() {
        go_park_slow(gp, what);
    }
}

#[cold]
#[inline(never)]
fn go_park_slow(gp: GPtr, what: &Suspend) {
    let why = match what {
        Suspend::Park { .. } => Stop::Block(gp.wait_reason()),
        Suspend::Yield | Suspend::YieldLocal => Stop::Yield,
        Suspend::Preempt => Stop::Preempt,
        // Not through `park_g`: `exitsyscall` calls `syscall_block`.
        Suspend::ExitSyscall => return,
    };
    run_end(why);
}

/// `gp`'s body has returned (called by the G as its last action).
#[inline]
pub(crate) fn go_end(_gp: GPtr) {
    if is_enabled() {
        run_end(Stop::Exit);
    }
}

/// Closes this thread's open run with `why`.
#[cold]
#[inline(never)]
fn run_end(why: Stop) {
    let end = now();
    let s = session();
    with_local(|l| {
        if let Some(o) = l.run.take().filter(|o| o.session == s) {
            let (goid, p, m) = o.what;
            l.buf.push(Event::Run {
                start: o.start,
                end,
                goid,
                p,
                m,
                why,
            });
        }
    });
}

/// `gp` was made runnable by the calling goroutine (or by no goroutine).
#[inline]
pub(crate) fn go_unblock(gp: GPtr) {
    if is_enabled() {
        go_unblock_slow(gp);
    }
}

#[cold]
#[inline(never)]
fn go_unblock_slow(gp: GPtr) {
    let e = Event::Unblock {
        ts: now(),
        goid: gp.goid(),
        by: crate::sched::m::getg().map_or(0, |g| g.goid()),
    };
    with_local(|l| l.buf.push(e));
}

/// The running goroutine enters a blocking call on M `mp`: its run on the P ends here.
#[inline]
pub(crate) fn syscall_enter(mp: &M, gp: GPtr) {
    if is_enabled() {
        syscall_enter_slow(mp, gp);
    }
}

#[cold]
#[inline(never)]
fn syscall_enter_slow(mp: &M, gp: GPtr) {
    let t = now();
    let s = session();
    with_local(|l| {
        if let Some(o) = l.run.take().filter(|o| o.session == s) {
            let (goid, p, m) = o.what;
            l.buf.push(Event::Run {
                start: o.start,
                end: t,
                goid,
                p,
                m,
                why: Stop::Syscall,
            });
        }
        l.sys.set(Some(Open {
            session: s,
            start: t,
            what: (gp.goid(), mp.id),
        }));
    });
}

/// The goroutine is back from its blocking call with a P: it runs on from here.
#[inline]
pub(crate) fn syscall_exit(gp: GPtr) {
    if is_enabled() {
        syscall_end();
        go_start_slow(gp);
    }
}

/// The goroutine is back from its blocking call but found no P: it suspends to wait for one
/// (and `go_start`s when it runs again).
#[inline]
pub(crate) fn syscall_block(_gp: GPtr) {
    if is_enabled() {
        syscall_end();
    }
}

/// Closes this thread's open blocking call.
#[cold]
#[inline(never)]
fn syscall_end() {
    let t = now();
    let s = session();
    with_local(|l| {
        if let Some(o) = l.sys.take().filter(|o| o.session == s) {
            let (goid, m) = o.what;
            l.buf.push(Event::Syscall {
                start: o.start,
                end: t,
                goid,
                m,
            });
        }
    });
}
