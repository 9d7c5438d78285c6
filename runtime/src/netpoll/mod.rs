//! The netpoller (Go's netpoll.go + netpoll_epoll.go) over mio: epoll on Linux, kqueue on
//! macOS. One per runtime, created on first use. Each descriptor is registered once, edge
//! triggered, for both directions; a goroutine that gets `WouldBlock` parks on its
//! descriptor's read or write slot and the M that polls readies it.
//!
//! # Protocol (per `PollDesc`, Go's `pdNil`/`pdReady`/`pdWait`)
//! `rg`/`wg` hold `NIL`, `READY` (an event arrived and nobody was waiting), `WAIT` (a G is about
//! to park), or the parked G's pointer.
//! - `block`: `READY -> NIL` consumes a pending event (no park); else `NIL -> WAIT`, park, and
//!   the unlock function CASes `WAIT -> G`. If an event or deadline got there first the CAS
//!   fails and the park is cancelled.
//! - `unblock` (from the poller or a deadline): swaps in `READY` (I/O) or `NIL` (deadline,
//!   close) and returns the G if one was parked.
//!   So an event is never lost (it leaves `READY`) and never doubled (one swap per event).
//! - Any number of Ms may poll at once (`wait`: the kernel queue is thread-safe, and each
//!   edge-triggered event goes to one poller). At most one M *blocks* in the poller: it swaps
//!   `Sched::lastpoll` to 0 first, which also tells others to skip their non-blocking polls
//!   and to break its poll for an earlier timer (proc.go `findRunnable`).
//! - A break (`netpoll_break`) is for the blocking poller: only a blocking poll consumes it
//!   (and re-arms `wake_sig`); a non-blocking poll that receives it raises it again, so a
//!   shutdown or timer break cannot be lost to a poll running beside the blocked M
//!   (runtime/tests/loom_models/shutdown.rs).
//!
//! # Invariants
//! - `PollDesc`s are never freed while the runtime lives: closed ones are recycled with a new
//!   `seq`, and the token carries `seq`, so an event for a closed descriptor is ignored.

mod wait;

use crate::coro::UnlockFn;
use crate::lock::RawLock;
use crate::loom::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicUsize, Ordering};
use crate::sched::g::{GPtr, WaitReason};
use crate::sched::park::gopark;
use crate::sched::Sched;
use mio::{Interest, Poll, Registry, Token, Waker};
use std::cell::UnsafeCell;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

const NIL: usize = 0;
const READY: usize = 1;
const WAIT: usize = 2;

/// The waker's token (no `PollDesc` has address 0).
const WAKER: Token = Token(0);
/// Low bits of a token carry the descriptor's `seq` (PollDescs are 64-byte aligned).
const SEQ_MASK: usize = 63;

/// Which half of a descriptor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Reading (and accept).
    Read,
    /// Writing (and connect).
    Write,
}

/// Why a wait ended without readiness.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PollError {
    /// The descriptor is being closed.
    Closing,
    /// The deadline passed.
    Timeout,
}

impl From<PollError> for io::Error {
    fn from(e: PollError) -> io::Error {
        match e {
            PollError::Closing => io::Error::new(
                io::ErrorKind::NotConnected,
                "use of closed network connection",
            ),
            PollError::Timeout => io::Error::new(io::ErrorKind::TimedOut, "i/o timeout"),
        }
    }
}

/// One registered descriptor. See the module protocol.
#[repr(align(64))]
pub struct PollDesc {
    rg: AtomicUsize,
    wg: AtomicUsize,
    seq: AtomicUsize,
    closing: AtomicBool,
    /// Deadlines: 0 none, -1 passed, else `nanotime` when it passes.
    rd: AtomicI64,
    wd: AtomicI64,
    /// Timers for the deadlines (stopped on reset). Protected by `lock`.
    lock: RawLock,
    rtimer: UnsafeCell<Option<crate::time::TimerHandle>>,
    wtimer: UnsafeCell<Option<crate::time::TimerHandle>>,
    fd: AtomicI32,
    sched: &'static Sched,
}

// SAFETY: the timer slots are only touched with `lock` held; everything else is atomic.
unsafe impl Sync for PollDesc {}
// SAFETY: as above.
unsafe impl Send for PollDesc {}

/// A runtime's poller.
pub(crate) struct NetPoll {
    /// Owns the kernel queue; `None` once closed at teardown (`close_at_teardown`).
    poll: UnsafeCell<Option<Poll>>,
    /// The queue's descriptor, waited on by `netpoll` from any M; -1 once closed.
    queue_fd: AtomicI32,
    /// Used under `lock` (registration is not a hot path); `None` once closed.
    registry: UnsafeCell<Option<Registry>>,
    /// Used under `lock`, by the rare break that is not de-duplicated; `None` once closed.
    waker: UnsafeCell<Option<Waker>>,
    /// Descriptors registered and not yet closed. Written under `lock`.
    registered: AtomicUsize,
    /// Go's `netpollWakeSig`: de-duplicates `netpoll_break`.
    wake_sig: AtomicU32,
    /// Recycled descriptors. Protected by `lock`.
    lock: RawLock,
    free: UnsafeCell<Vec<&'static PollDesc>>,
    /// Every descriptor ever allocated (for diagnostics). Protected by `lock`.
    all: UnsafeCell<Vec<&'static PollDesc>>,
}

// SAFETY: `poll` is only touched at creation and at teardown, when no M is left; `free`,
// `registry` and `waker` only under `lock`.
unsafe impl Sync for NetPoll {}
// SAFETY: as above.
unsafe impl Send for NetPoll {}

impl NetPoll {
    fn new() -> io::Result<NetPoll> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        use std::os::fd::AsRawFd;
        Ok(NetPoll {
            queue_fd: AtomicI32::new(poll.as_raw_fd()),
            poll: UnsafeCell::new(Some(poll)),
            registry: UnsafeCell::new(Some(registry)),
            waker: UnsafeCell::new(Some(waker)),
            registered: AtomicUsize::new(0),
            wake_sig: AtomicU32::new(0),
            lock: RawLock::new(),
            free: UnsafeCell::new(Vec::new()),
            all: UnsafeCell::new(Vec::new()),
        })
    }
}

/// The runtime's poller, created on first use.
pub(crate) fn netpoll_of(sched: &'static Sched) -> io::Result<&'static NetPoll> {
    if let Some(np) = sched.netpoll.get() {
        return Ok(np);
    }
    let np = NetPoll::new()?;
    let _ = sched.netpoll.set(np);
    Ok(sched.netpoll.get().expect("just set"))
}

/// Whether the runtime has a poller and goroutines waiting on it (Go's `netpollinited &&
/// netpollAnyWaiters`).
pub(crate) fn any_waiters(sched: &Sched) -> bool {
    // ORDERING: SeqCst: checked against the waiter count in `checkdead` and `find_runnable`.
    sched.netpoll.get().is_some() && sched.netpoll_waiters.load(Ordering::SeqCst) > 0
}

/// Registers `fd` (already non-blocking) with the current runtime's poller.
///
/// # Errors
/// The poller could not be created or the descriptor could not be registered.
///
/// # Panics
/// Outside a goroutine.
///
/// Go: `poll_runtime_pollOpen` (netpoll.go).
pub fn open(fd: RawFd) -> io::Result<&'static PollDesc> {
    let m = crate::sched::m::getm()
        .unwrap_or_else(|| crate::sched::park::outside_goroutine("use a socket"));
    let sched = m.sched;
    let np = netpoll_of(sched)?;
    np.lock.lock();
    // SAFETY: `free` is protected by `np.lock`, held.
    let pd = unsafe { (*np.free.get()).pop() };
    np.lock.unlock();
    let pd: &'static PollDesc = match pd {
        Some(pd) => pd,
        None => leak_new(
            np,
            PollDesc {
                rg: AtomicUsize::new(NIL),
                wg: AtomicUsize::new(NIL),
                seq: AtomicUsize::new(0),
                closing: AtomicBool::new(false),
                rd: AtomicI64::new(0),
                wd: AtomicI64::new(0),
                lock: RawLock::new(),
                rtimer: UnsafeCell::new(None),
                wtimer: UnsafeCell::new(None),
                fd: AtomicI32::new(-1),
                sched,
            },
        ),
    };
    // ORDERING: the descriptor is not yet published (registration below is the barrier).
    pd.rg.store(NIL, Ordering::Relaxed);
    pd.wg.store(NIL, Ordering::Relaxed);
    pd.closing.store(false, Ordering::Relaxed);
    pd.rd.store(0, Ordering::Relaxed);
    pd.wd.store(0, Ordering::Relaxed);
    pd.fd.store(fd, Ordering::Relaxed);
    let seq = pd.seq.load(Ordering::Relaxed) & SEQ_MASK;
    let token = Token(pd as *const PollDesc as usize | seq);
    np.lock.lock();
    // SAFETY: `registry` is protected by `np.lock`, held.
    let r = match unsafe { &*np.registry.get() } {
        Some(reg) => reg.register(
            &mut mio::unix::SourceFd(&fd),
            token,
            Interest::READABLE | Interest::WRITABLE,
        ),
        None => Err(io::Error::other("the runtime's netpoller is closed")),
    };
    if r.is_ok() {
        // ORDERING: written under `np.lock`, read under it at teardown.
        np.registered.fetch_add(1, Ordering::Relaxed);
    }
    np.lock.unlock();
    if let Err(e) = r {
        release(np, pd);
        return Err(e);
    }
    Ok(pd)
}

fn leak_new(np: &NetPoll, pd: PollDesc) -> &'static PollDesc {
    let pd: &'static PollDesc = Box::leak(Box::new(pd));
    np.lock.lock();
    // SAFETY: `all` is protected by `np.lock`, held.
    unsafe { (*np.all.get()).push(pd) };
    np.lock.unlock();
    pd
}

/// One line per open descriptor: fd, read and write slot states (`0` nil, `1` ready, `2`
/// wait, else a parked G's id), and bytes waiting to be read. For diagnostics.
pub fn debug_state() -> String {
    let Some(m) = crate::sched::m::getm() else {
        return String::new();
    };
    let Some(np) = m.sched.netpoll.get() else {
        return String::new();
    };
    np.lock.lock();
    // SAFETY: `all` is protected by `np.lock`, held.
    let all: Vec<_> = unsafe { (*np.all.get()).clone() };
    np.lock.unlock();
    let mut out = String::new();
    for pd in all {
        let fd = pd.fd.load(Ordering::SeqCst);
        if fd < 0 {
            continue;
        }
        let show = |v: usize| match v {
            NIL | READY | WAIT => v.to_string(),
            g => format!(
                "G{}",
                GPtr::from_ptr(g as *mut crate::sched::g::G).map_or(0, |g| g.goid())
            ),
        };
        let mut avail: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int; a bad fd just fails.
        unsafe { libc::ioctl(fd, libc::FIONREAD, &mut avail) };
        out.push_str(&format!(
            "fd={fd} rg={} wg={} avail={avail}\n",
            show(pd.rg.load(Ordering::SeqCst)),
            show(pd.wg.load(Ordering::SeqCst))
        ));
    }
    out
}

fn release(np: &NetPoll, pd: &'static PollDesc) {
    // ORDERING: SeqCst: a poller racing with close compares the token's seq with this.
    pd.seq.fetch_add(1, Ordering::SeqCst);
    np.lock.lock();
    // SAFETY: `free` is protected by `np.lock`, held.
    unsafe { (*np.free.get()).push(pd) };
    np.lock.unlock();
}

impl PollDesc {
    fn slot(&self, mode: Mode) -> &AtomicUsize {
        match mode {
            Mode::Read => &self.rg,
            Mode::Write => &self.wg,
        }
    }

    fn deadline(&self, mode: Mode) -> &AtomicI64 {
        match mode {
            Mode::Read => &self.rd,
            Mode::Write => &self.wd,
        }
    }

    /// Why a wait in `mode` cannot proceed, if it cannot (Go's `netpollcheckerr`).
    pub fn check(&self, mode: Mode) -> Result<(), PollError> {
        // ORDERING: SeqCst: paired with `evict`/deadline stores, then the slot CAS.
        if self.closing.load(Ordering::SeqCst) {
            return Err(PollError::Closing);
        }
        if self.deadline(mode).load(Ordering::SeqCst) < 0 {
            return Err(PollError::Timeout);
        }
        Ok(())
    }

    /// Prepares for a wait: clears a stale `READY` (Go's `poll_runtime_pollReset`).
    pub fn reset(&self, mode: Mode) -> Result<(), PollError> {
        self.check(mode)?;
        // ORDERING: the owner's own slot; no one parks concurrently in the same mode.
        let _ = self
            .slot(mode)
            .compare_exchange(READY, NIL, Ordering::SeqCst, Ordering::SeqCst);
        Ok(())
    }

    /// Parks the calling goroutine until the descriptor is ready in `mode`, its deadline
    /// passes, or it is closed. `Ok` means "try the operation again".
    ///
    /// # Panics
    /// Outside a goroutine.
    ///
    /// Go: `netpollblock` (netpoll.go).
    pub fn wait(&self, mode: Mode) -> Result<(), PollError> {
        self.check(mode)?;
        let gpp = self.slot(mode);
        loop {
            // ORDERING: SeqCst on every slot transition (the module protocol).
            if gpp
                .compare_exchange(READY, NIL, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return Ok(());
            }
            match gpp.compare_exchange(NIL, WAIT, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(old) if old == READY => continue,
                Err(_) => crate::throw!("netpollblock: double wait"),
            }
        }
        // Re-check after announcing WAIT: a close or deadline between `check` and here has
        // already tried to unblock (found WAIT, not a G) and we must not sleep through it.
        if self.check(mode).is_ok() {
            // SAFETY: `block_commit` only CASes our slot from WAIT to our G; whoever unblocks
            // swaps the slot and so sees either WAIT (and we do not park) or our G.
            unsafe {
                gopark(
                    Some(block_commit as UnlockFn),
                    gpp as *const AtomicUsize as *mut (),
                    WaitReason::IoWait,
                )
            };
        }
        let old = gpp.swap(NIL, Ordering::SeqCst);
        if old > WAIT {
            crate::throw!("netpollblock: corrupted state");
        }
        if old == READY {
            Ok(())
        } else {
            self.check(mode)
        }
    }

    /// Wakes a goroutine parked in `mode` (for close or a deadline): it sees the error.
    fn unblock(&self, mode: Mode, ioready: bool) -> Option<GPtr> {
        let gpp = self.slot(mode);
        loop {
            let old = gpp.load(Ordering::SeqCst);
            if old == READY {
                return None;
            }
            if old == NIL && !ioready {
                return None;
            }
            let new = if ioready { READY } else { NIL };
            if gpp
                .compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                if old == WAIT || old == NIL {
                    return None;
                }
                self.sched.netpoll_waiters.fetch_sub(1, Ordering::SeqCst);
                return GPtr::from_ptr(old as *mut crate::sched::g::G);
            }
        }
    }

    /// Sets or clears (`None`) the deadline for `mode` as `nanotime` (`Some(when)`, where a
    /// value in the past expires it at once). Go: `poll_runtime_pollSetDeadline`.
    pub fn set_deadline(&'static self, mode: Mode, when: Option<std::time::Instant>) {
        self.lock.lock();
        // SAFETY: the timer slots are protected by `self.lock`, held.
        let slot = unsafe {
            &mut *match mode {
                Mode::Read => self.rtimer.get(),
                Mode::Write => self.wtimer.get(),
            }
        };
        if let Some(t) = slot.take() {
            t.stop();
        }
        let d = self.deadline(mode);
        let mut expired_now = false;
        match when {
            None => d.store(0, Ordering::SeqCst),
            Some(at) => {
                let now = std::time::Instant::now();
                if at <= now {
                    d.store(-1, Ordering::SeqCst);
                    expired_now = true;
                } else {
                    let dur = at - now;
                    d.store(
                        self.sched.nanotime() + dur.as_nanos() as i64,
                        Ordering::SeqCst,
                    );
                    let seq = self.seq.load(Ordering::SeqCst);
                    let pd: &'static PollDesc = self;
                    *slot = Some(crate::time::after_call_in(
                        self.sched,
                        dur,
                        Box::new(move || pd.deadline_fired(mode, seq)),
                    ));
                }
            }
        }
        self.lock.unlock();
        if expired_now {
            if let Some(gp) = self.unblock(mode, false) {
                crate::sched::park::goready(gp);
            }
        }
    }

    fn deadline_fired(&self, mode: Mode, seq: usize) {
        // ORDERING: SeqCst as the rest of the protocol.
        if self.seq.load(Ordering::SeqCst) != seq {
            return; // recycled
        }
        self.deadline(mode).store(-1, Ordering::SeqCst);
        if let Some(gp) = self.unblock(mode, false) {
            crate::sched::park::goready(gp);
        }
    }

    /// Marks the descriptor as closing and wakes both waiters with `Closing`
    /// (Go's `poll_runtime_pollUnblock`).
    pub fn evict(&self) {
        self.closing.store(true, Ordering::SeqCst);
        for mode in [Mode::Read, Mode::Write] {
            if let Some(gp) = self.unblock(mode, false) {
                crate::sched::park::goready(gp);
            }
        }
    }

    /// Deregisters and recycles the descriptor. Call after `evict` and before closing `fd`.
    /// Go: `poll_runtime_pollClose`.
    pub fn close(&'static self) {
        self.evict();
        self.lock.lock();
        // SAFETY: the timer slots are protected by `self.lock`, held.
        unsafe {
            if let Some(t) = (*self.rtimer.get()).take() {
                t.stop();
            }
            if let Some(t) = (*self.wtimer.get()).take() {
                t.stop();
            }
        }
        self.lock.unlock();
        let Some(np) = self.sched.netpoll.get() else {
            return;
        };
        let fd = self.fd.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            np.lock.lock();
            // SAFETY: `registry` is protected by `np.lock`, held.
            if let Some(reg) = unsafe { &*np.registry.get() } {
                let _ = reg.deregister(&mut mio::unix::SourceFd(&fd));
            }
            // ORDERING: as in `open`.
            np.registered.fetch_sub(1, Ordering::Relaxed);
            np.lock.unlock();
        }
        release(np, self);
    }
}

/// # Safety
/// `arg` is the slot of a `PollDesc` the parked G set to WAIT.
unsafe fn block_commit(gp: GPtr, arg: *mut ()) -> bool {
    // SAFETY: per the contract; PollDescs are never freed.
    let gpp = unsafe { &*(arg as *const AtomicUsize) };
    let ok = gpp
        .compare_exchange(
            WAIT,
            gp.as_ptr() as usize,
            Ordering::SeqCst,
            Ordering::SeqCst,
        )
        .is_ok();
    if ok {
        gp.sched().netpoll_waiters.fetch_add(1, Ordering::SeqCst);
    }
    ok
}

/// Polls for I/O: `None` blocks until an event or `netpoll_break`, `Some(d)` waits at most `d`
/// (zero: does not block; other waits are rounded up to whole milliseconds). Appends the
/// goroutines made ready to `out`.
///
/// Any M may call it, concurrently with others (module protocol); only one may block
/// (`Sched::lastpoll`).
///
/// Go: `netpoll` (netpoll_epoll.go).
pub(crate) fn netpoll(sched: &'static Sched, delay: Option<Duration>, out: &mut Vec<GPtr>) {
    let Some(np) = sched.netpoll.get() else {
        return;
    };
    // ORDERING: the descriptor is set before the poller is published (OnceLock) and cleared
    // only at teardown, when no M polls.
    let fd = np.queue_fd.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let blocking = delay != Some(Duration::ZERO);
    let mut pass_break_on = false;
    let r = wait::wait(fd, delay, |ev| {
        if ev.token == WAKER.0 {
            if blocking {
                // ORDERING: re-arm the break de-duplication.
                np.wake_sig.store(0, Ordering::SeqCst);
            } else {
                // A break is meant for the M blocked in the poller, which may be waiting at
                // this moment: a non-blocking poll must not swallow it (Go leaves the byte
                // unread; our waker is edge-triggered, so it is raised again below).
                pass_break_on = true;
            }
            return;
        }
        let t = ev.token;
        // SAFETY: tokens are PollDesc addresses (plus seq bits); PollDescs are never freed.
        let pd = unsafe { &*((t & !SEQ_MASK) as *const PollDesc) };
        if pd.seq.load(Ordering::SeqCst) & SEQ_MASK != t & SEQ_MASK {
            return; // stale: the descriptor was closed and recycled
        }
        if ev.read {
            if let Some(gp) = pd.unblock(Mode::Read, true) {
                out.push(gp);
            }
        }
        if ev.write {
            if let Some(gp) = pd.unblock(Mode::Write, true) {
                out.push(gp);
            }
        }
    });
    if let Err(e) = r {
        crate::throw!("netpoll: poll failed: {e}");
    }
    if pass_break_on {
        np.lock.lock();
        // SAFETY: `waker` is protected by `np.lock`, held.
        if let Some(w) = unsafe { &*np.waker.get() } {
            let _ = w.wake();
        }
        np.lock.unlock();
    }
}

/// Interrupts a blocking `netpoll` (de-duplicated). Go: `netpollBreak`.
pub(crate) fn netpoll_break(sched: &Sched) {
    if let Some(np) = sched.netpoll.get() {
        // ORDERING: SeqCst, de-duplication only.
        if np
            .wake_sig
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            np.lock.lock();
            // SAFETY: `waker` is protected by `np.lock`, held.
            if let Some(w) = unsafe { &*np.waker.get() } {
                let _ = w.wake();
            }
            np.lock.unlock();
        }
    }
}

/// Closes the runtime's poller (its epoll descriptor, the registry's duplicate and the
/// waker's eventfd) when the runtime has ended, so a process that starts runtime after runtime
/// does not run out of descriptors. Only if no descriptor is still registered: a socket that
/// outlives its runtime deregisters through the registry when it is dropped, and must not
/// reach a closed (and maybe reused) descriptor number; such a runtime keeps its poller.
/// Called by `teardown`, when every M has exited: nobody polls any more.
pub(crate) fn close_at_teardown(sched: &Sched) {
    let Some(np) = sched.netpoll.get() else {
        return;
    };
    np.lock.lock();
    // ORDERING: written under `np.lock`, held.
    let idle = np.registered.load(Ordering::Relaxed) == 0;
    // SAFETY: `registry` and `waker` are protected by `np.lock`, held; `poll` is used only by
    // the M holding the polling right, and every M has exited.
    let closed = idle.then(|| unsafe {
        // ORDERING: no M polls any more (see above).
        np.queue_fd.store(-1, Ordering::Relaxed);
        (
            (*np.poll.get()).take(),
            (*np.registry.get()).take(),
            (*np.waker.get()).take(),
        )
    });
    np.lock.unlock();
    drop(closed);
}
