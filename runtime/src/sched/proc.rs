//! Goroutine life cycle: `newproc` (spawn), goroutine exit (`complete`, `gdestroy`), the dead-G
//! free lists (`gfput`/`gfget`), `JoinHandle`, bootstrap (`Builder::run`), shutdown, teardown
//! and `checkdead`.
//!
//! # Join protocol (`G::join` bits)
//! - The body stores its result, then sets COMPLETE; if JOINER was set, it readies the joiner;
//!   if DETACHED was set, it disposes of the result itself.
//! - `join` parks with an unlock function that sets JOINER and cancels the park if COMPLETE is
//!   already set.
//! - Dropping the handle sets DETACHED and drops a stored result if COMPLETE was set.
//!   Exactly one side disposes of the result.

use crate::coro::{new_coro, stack, GYielder};
use crate::env;
use crate::loom::Ordering;
use crate::sched::g::CoroSlot;
use crate::sched::g::{join, GPtr, GStatus, ResultSlot, WaitReason, G};
use crate::sched::m::{self, getg, getm, M};
use crate::sched::p::P;
use crate::sched::park::{gopark, goready, outside_goroutine};
use crate::sched::runq::runq_put;
use crate::sched::schedule::{acquirep, pidleget_locked, schedule_loop, wakep_from_p};
use crate::sched::Sched;
use std::any::Any;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::panic::{catch_unwind, AssertUnwindSafe, Location};

/// Goroutine ids are taken from `Sched::goidgen` this many at a time (Go's `_GoidCacheBatch`).
const GOID_CACHE_BATCH: u64 = 16;

/// A goroutine's panic, as returned by `JoinHandle::join` (Go's recovered panic value).
///
/// # Examples
/// ```
/// gort::run(|| {
///     let h = gort::go(|| -> u32 { panic!("boom") });
///     let p: gort::Panic = h.join().unwrap_err(); // the goroutine's panic; main goes on
///     assert_eq!(p.message(), Some("boom"));
///     assert_eq!(p.to_string(), "boom");
/// });
/// ```
pub struct Panic {
    payload: Box<dyn Any + Send + 'static>,
}

impl Panic {
    /// The panic message if the payload is a string (`panic!("...")`).
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let p = gort::go(|| -> u32 { panic!("bad input: {}", 7) }).join().unwrap_err();
    ///     assert_eq!(p.message(), Some("bad input: 7"));
    ///     let p = gort::go(|| -> u32 { std::panic::panic_any(7) }).join().unwrap_err();
    ///     assert_eq!(p.message(), None); // not a string
    /// });
    /// ```
    pub fn message(&self) -> Option<&str> {
        payload_str(&*self.payload)
    }

    /// The raw payload, for `std::panic::resume_unwind`.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let p = gort::go(|| -> u32 { std::panic::panic_any(42_u32) }).join().unwrap_err();
    ///     let payload = p.into_payload(); // or std::panic::resume_unwind(payload)
    ///     assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    /// });
    /// ```
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }
}

impl std::fmt::Debug for Panic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.message() {
            Some(m) => write!(f, "Panic({m:?})"),
            None => f.write_str("Panic(<non-string payload>)"),
        }
    }
}

impl std::fmt::Display for Panic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message().unwrap_or("<non-string panic payload>"))
    }
}

impl std::error::Error for Panic {}

fn payload_str(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(|s| s.as_str()))
}

/// A handle to a goroutine's result. `join` parks the calling goroutine until it finishes;
/// dropping the handle detaches the goroutine (a detached goroutine that panics ends the
/// process, as in Go).
///
/// # Examples
/// ```
/// gort::run(|| {
///     let h: gort::JoinHandle<&str> = gort::go(|| "done");
///     assert_eq!(h.join().unwrap(), "done");
///     drop(gort::go(|| ())); // detached: runs on, nobody waits for it
/// });
/// ```
pub struct JoinHandle<T> {
    gp: GPtr,
    _result: PhantomData<fn() -> T>,
}

// SAFETY: the handle only moves a `T: Send` result between threads; the G is shared by design.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` allows no access to the result.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JoinHandle(goroutine {})", self.gp.goid())
    }
}

impl<T: Send + 'static> JoinHandle<T> {
    /// Waits for the goroutine to finish and returns its result, or its panic as `Err`.
    /// Parks the calling goroutine, never the OS thread.
    ///
    /// # Panics
    /// If it would have to wait and is called outside a goroutine.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     assert_eq!(gort::go(|| 6 * 7).join().unwrap(), 42);
    ///     let failed = gort::go(|| -> u32 { panic!("boom") }).join();
    ///     assert_eq!(failed.unwrap_err().message(), Some("boom"));
    /// });
    /// ```
    #[track_caller]
    pub fn join(self) -> Result<T, Panic> {
        let gp = self.gp;
        std::mem::forget(self);
        // ORDERING: Acquire pairs with the AcqRel fetch_or of COMPLETE in `complete`, making
        // the stored result visible.
        if gp.join.load(Ordering::Acquire) & join::COMPLETE == 0 {
            let me = getg().unwrap_or_else(|| outside_goroutine("join a goroutine"));
            gp.joiner.set(Some(me));
            // SAFETY: `join_unlock` only touches the target G's atomics; the completing body
            // readies us only after it sees JOINER, which `join_unlock` sets after we park.
            unsafe { gopark(Some(join_unlock), gp.as_ptr().cast(), WaitReason::JoinWait) };
        }
        // SAFETY: COMPLETE is set (we saw it, or we were readied after it), so the result is
        // stored and we are the only reader (the handle is consumed).
        let r = unsafe { take_result::<T>(gp) };
        release_ref(gp);
        r
    }

    /// Whether the goroutine has finished.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let release = gort::chan::<()>(0);
    ///     let r = release.clone();
    ///     let h = gort::go(move || r.recv());
    ///     assert!(!h.is_finished()); // it waits for the channel
    ///     release.close();
    ///     while !h.is_finished() {
    ///         gort::runtime::gosched();
    ///     }
    ///     assert_eq!(h.join().unwrap(), None); // returns at once
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        // ORDERING: as in `join`.
        self.gp.join.load(Ordering::Acquire) & join::COMPLETE != 0
    }

    /// The goroutine's id.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let h = gort::go(|| gort::runtime::goid());
    ///     let id = h.goid();
    ///     assert_ne!(id, 1); // 1 is the main goroutine
    ///     assert_eq!(h.join().unwrap(), Some(id));
    /// });
    /// ```
    pub fn goid(&self) -> u64 {
        self.gp.goid()
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let gp = self.gp;
        // ORDERING: AcqRel pairs with `complete`'s fetch_or: if COMPLETE is set we see the
        // result and must drop it; otherwise the body sees DETACHED and disposes of it.
        let prev = gp.join.fetch_or(join::DETACHED, Ordering::AcqRel);
        if prev & join::COMPLETE != 0 {
            // SAFETY: the result is stored and unread (the handle was not joined).
            drop(unsafe { take_result_untyped::<T>(gp) });
        }
        release_ref(gp);
    }
}

/// # Safety
/// Called by the M after the joiner parked; `arg` is the target G.
unsafe fn join_unlock(_me: GPtr, arg: *mut ()) -> bool {
    let target = GPtr::from_ptr(arg.cast()).expect("join target");
    // ORDERING: AcqRel pairs with `complete`: either it sees JOINER and readies us, or we see
    // COMPLETE and cancel the park.
    let prev = target.join.fetch_or(join::JOINER, Ordering::AcqRel);
    prev & join::COMPLETE == 0
}

fn fits_inline<R>() -> bool {
    size_of::<R>() <= size_of::<ResultSlot>() && align_of::<R>() <= align_of::<ResultSlot>()
}

/// # Safety
/// The slot must be empty and owned by the caller (the body before COMPLETE).
unsafe fn store_result<T>(gp: GPtr, r: Result<T, Panic>) {
    let slot = gp.result.get().cast::<u8>();
    if fits_inline::<Result<T, Panic>>() {
        // SAFETY: the slot is large and aligned enough (checked) and empty.
        unsafe { slot.cast::<Result<T, Panic>>().write(r) };
    } else {
        // SAFETY: a pointer always fits the slot.
        unsafe {
            slot.cast::<*mut Result<T, Panic>>()
                .write(Box::into_raw(Box::new(r)))
        };
    }
}

/// # Safety
/// The slot must hold a `Result<T, Panic>` stored by `store_result::<T>`; it is moved out.
unsafe fn take_result<T>(gp: GPtr) -> Result<T, Panic> {
    let slot = gp.result.get().cast::<u8>();
    if fits_inline::<Result<T, Panic>>() {
        // SAFETY: per the contract the slot holds an initialised value of this type.
        unsafe { slot.cast::<Result<T, Panic>>().read() }
    } else {
        // SAFETY: per the contract the slot holds a pointer from `Box::into_raw`.
        unsafe { *Box::from_raw(slot.cast::<*mut Result<T, Panic>>().read()) }
    }
}

/// `take_result` for `Drop`, where `T` has no `Send + 'static` bound.
///
/// # Safety
/// As `take_result`.
unsafe fn take_result_untyped<T>(gp: GPtr) -> Result<T, Panic> {
    // SAFETY: forwarded contract.
    unsafe { take_result::<T>(gp) }
}

/// Runs in the goroutine after its body returned or panicked.
fn complete<T>(gp: GPtr, r: Result<T, Box<dyn Any + Send>>) {
    let r = r.map_err(|payload| Panic { payload });
    // ORDERING: Acquire pairs with the handle's fetch_or(DETACHED).
    if gp.join.load(Ordering::Acquire) & join::DETACHED != 0 {
        detached_done(gp, r);
        return;
    }
    // SAFETY: the slot is empty and only the body writes it before COMPLETE.
    unsafe { store_result(gp, r) };
    // ORDERING: AcqRel: Release publishes the result; Acquire sees the joiner or detacher.
    let prev = gp.join.fetch_or(join::COMPLETE, Ordering::AcqRel);
    if prev & join::DETACHED != 0 {
        // SAFETY: we stored it just now and the detacher saw no COMPLETE, so it did not read it.
        let r = unsafe { take_result::<T>(gp) };
        detached_done(gp, r);
    } else if prev & join::JOINER != 0 {
        goready(gp.joiner.take().expect("JOINER set without a joiner"));
    }
}

fn detached_done<T>(gp: GPtr, r: Result<T, Panic>) {
    if let Err(p) = r {
        fatal_panic(gp, &p);
    }
}

/// Go's behaviour for an unrecovered panic: print it with the goroutine's header and where it
/// was created, and exit with status 2. The panic's own location and frames were printed by
/// the panic hook when it unwound (`RUST_BACKTRACE`); here, after `catch_unwind`, the stack
/// holds only gort's frames.
fn fatal_panic(gp: GPtr, p: &Panic) -> ! {
    let msg = p.message().unwrap_or("(non-string panic payload)");
    let mut out = format!("panic: {msg}\n\ngoroutine {} [running]:\n", gp.goid());
    crate::sched::traceback::write_created_by(&mut out, gp.goid(), &gp.origin.get());
    crate::print::stderr(&out);
    std::process::exit(2)
}

/// Starts a goroutine running `f` and returns its handle.
///
/// # Panics
/// Outside a goroutine, or if no stack can be had for it.
///
/// The caller's location is recorded as the goroutine's creation site (Go's `gopc`), printed
/// by dumps under "created by".
///
/// Go: `newproc` (proc.go).
#[track_caller]
pub fn newproc<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let mp = getm().unwrap_or_else(|| outside_goroutine("start a goroutine (gort::go)"));
    let parent = mp.curg().map_or(0, |g| g.goid());
    let h = newproc1(mp, f, false, parent, Location::caller());
    crate::sched::park::maybe_preempt();
    h
}

fn newproc1<F, T>(
    mp: &'static M,
    f: F,
    is_main: bool,
    parent: u64,
    gopc: *const Location<'static>,
) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // Without a P (sysmon took it from this goroutine as a hog) the new G goes on the global
    // queue.
    let claim = crate::sched::pclaim::claim(mp);
    newproc_on(
        mp.sched,
        claim.as_ref().map(|c| c.p()),
        f,
        is_main,
        parent,
        gopc,
    )
}

/// Starts a goroutine from a thread that holds no P (sysmon's timers: `after_func`). It goes
/// on the global run queue and an idle P is woken for it. The caller's location is its
/// creation site; it has no parent goroutine (Go prints such goroutines, `time.goFunc`'s, as
/// created by the timer code with no " in goroutine N").
#[track_caller]
pub fn newproc_global<F>(sched: &'static Sched, f: F)
where
    F: FnOnce() + Send + 'static,
{
    drop(newproc_on(sched, None, f, false, 0, Location::caller()));
}

/// `newproc` proper: a G (from `pp`'s free list, the global one, or new), its coroutine, an
/// id, its origin (`parent`, `gopc` and `F`'s type name, for dumps), and a place in a run queue
/// (`pp`'s `runnext`, or the global queue without a P). `gopc` is null (goroutine 1) or a
/// `&'static Location` (a raw pointer to save the `Option` test on the spawn path).
fn newproc_on<F, T>(
    sched: &'static Sched,
    pp: Option<&'static P>,
    f: F,
    is_main: bool,
    parent: u64,
    gopc: *const Location<'static>,
) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let gp = match pp {
        // SAFETY: this M holds `pp`.
        Some(pp) => unsafe { gfget(sched, pp) },
        None => {
            sched.lock.lock();
            // SAFETY: `sched.lock` is held.
            let g = unsafe { sched.locked() }.gfree.pop();
            sched.lock.unlock();
            g
        }
    }
    .unwrap_or_else(|| new_g(sched));
    // SAFETY: the G is dead or new, so this thread is its only user.
    let slot = unsafe { &mut *gp.coro.get() };
    let stk = match std::mem::replace(slot, CoroSlot::Empty) {
        CoroSlot::Stack(s) => s,
        _ => match stack::alloc(sched.stack_size) {
            Ok(s) => s,
            Err(e) => panic!("gort: cannot start a goroutine: {e}"),
        },
    };
    *slot = CoroSlot::Live(new_coro(stk, move |y: &GYielder| {
        gp.yielder.set(y as *const GYielder);
        crate::trace::go_start(gp);
        let r = catch_unwind(AssertUnwindSafe(f));
        complete::<T>(gp, r);
        crate::trace::go_end(gp);
    }));
    gp.is_main.set(is_main);
    gp.origin.set(parent, gopc, std::any::type_name::<F>);
    // ORDERING: the G is unpublished (see `Origin::set`). A reused G must not show its previous
    // life's park site.
    gp.parkpc.store(std::ptr::null_mut(), Ordering::Relaxed);
    gp.joiner.set(None);
    // ORDERING: the G is unpublished; the run-queue push below is the Release.
    gp.join.store(0, Ordering::Relaxed);
    gp.refs.store(2, Ordering::Relaxed);
    let goid = match pp {
        Some(pp) => next_goid(sched, pp),
        // ORDERING: uniqueness comes from the RMW; batches never overlap single ids.
        None => sched.goidgen.fetch_add(1, Ordering::Relaxed) + 1,
    };
    gp.goid.store(goid, Ordering::Relaxed);
    crate::trace::go_create(gp, parent, gopc);
    let from = gp.status();
    gp.status.set(from, GStatus::Runnable);
    sched.ngoroutine.fetch_add(1, Ordering::Relaxed);
    sched
        .stats
        .goroutines_created
        .fetch_add(1, Ordering::Relaxed);
    match pp {
        Some(pp) => {
            // SAFETY: this M holds `pp`.
            unsafe { runq_put(sched, pp, gp, true) };
            if sched.main_started.load(Ordering::Relaxed) {
                wakep_from_p(sched);
            }
        }
        None => {
            sched.lock.lock();
            crate::sched::runq::glob_runq_put_locked(sched, gp);
            sched.lock.unlock();
            crate::sched::schedule::wakep(sched);
        }
    }
    JoinHandle {
        gp,
        _result: PhantomData,
    }
}

fn new_g(sched: &'static Sched) -> GPtr {
    let gp = GPtr::new_boxed(G::new(sched));
    sched.allglock.lock();
    // SAFETY: `allgs` is protected by `allglock`, held.
    unsafe { (*sched.allgs.get()).push(gp) };
    sched.allglock.unlock();
    gp
}

fn next_goid(sched: &Sched, pp: &P) -> u64 {
    if pp.goidcache.get() == pp.goidcacheend.get() {
        // ORDERING: a counter; uniqueness comes from the RMW itself.
        let end = sched.goidgen.fetch_add(GOID_CACHE_BATCH, Ordering::Relaxed) + GOID_CACHE_BATCH;
        pp.goidcache.set(end - GOID_CACHE_BATCH + 1);
        pp.goidcacheend.set(end + 1);
    }
    let id = pp.goidcache.get();
    pp.goidcache.set(id + 1);
    id
}

/// Called by the M when a G's coroutine has returned.
///
/// Go: `goexit0`/`gdestroy` (proc.go).
pub(crate) fn gdestroy(mp: &'static M, gp: GPtr) {
    gp.clear_preempt();
    gp.status.set(GStatus::Running, GStatus::Dead);
    // SAFETY: the G is dead and this M just ran it: no one else touches its coroutine.
    let slot = unsafe { &mut *gp.coro.get() };
    if let CoroSlot::Live(c) = std::mem::replace(slot, CoroSlot::Empty) {
        *slot = CoroSlot::Stack(c.into_stack());
    }
    gp.yielder.set(std::ptr::null());
    mp.sched.ngoroutine.fetch_sub(1, Ordering::Relaxed);
    if crate::sched::parkstacks::enabled() {
        crate::sched::parkstacks::forget(gp.goid());
    }
    if gp.locked.get() > 0 {
        // Go: a goroutine that exits locked takes its thread with it (M0 is wedged instead).
        crate::sched::lockosthread::unwire(gp);
        // ORDERING: read by this M's own thread, and by shutdown under the sched lock.
        mp.exit_thread.store(true, Ordering::Relaxed);
    }
    let is_main = gp.is_main.get();
    release_ref(gp);
    if is_main {
        begin_shutdown(mp.sched);
    }
}

/// Drops one reference to a dead (or dying) G; the last one frees it to a free list.
fn release_ref(gp: GPtr) {
    // ORDERING: AcqRel: the last releaser sees every write of the other reference holder.
    if gp.refs.fetch_sub(1, Ordering::AcqRel) == 1 {
        gfput(gp);
    }
}

/// Puts a dead G on this P's free list, spilling to the global list at 64 (down to 32).
///
/// Go: `gfput` (proc.go).
fn gfput(gp: GPtr) {
    let sched = gp.sched();
    let mp = getm().filter(|m| std::ptr::eq(m.sched, sched));
    if let Some(claim) = mp.and_then(crate::sched::pclaim::claim) {
        // SAFETY: this thread is the M holding the claimed P.
        let list = unsafe { claim.p().gfree_mut() };
        list.push(gp);
        if list.len() >= 64 {
            sched.lock.lock();
            // SAFETY: `sched.lock` is held.
            let locked = unsafe { sched.locked() };
            while list.len() >= 32 {
                locked.gfree.push(list.pop().expect("len >= 32"));
            }
            sched.lock.unlock();
        }
        return;
    }
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    unsafe { sched.locked() }.gfree.push(gp);
    sched.lock.unlock();
}

/// Takes a dead G from this P's free list, refilling from the global list.
///
/// # Safety
/// The caller must be the M holding `pp`.
///
/// Go: `gfget` (proc.go).
unsafe fn gfget(sched: &Sched, pp: &P) -> Option<GPtr> {
    // SAFETY: the caller holds `pp`.
    let list = unsafe { pp.gfree_mut() };
    if list.is_empty() {
        sched.lock.lock();
        // SAFETY: `sched.lock` is held.
        let locked = unsafe { sched.locked() };
        while list.len() < 32 {
            match locked.gfree.pop() {
                Some(g) => list.push(g),
                None => break,
            }
        }
        sched.lock.unlock();
    }
    list.pop()
}

/// The main goroutine returned: stop every M.
fn begin_shutdown(sched: &'static Sched) {
    // ORDERING: Release pairs with `is_shutdown`'s Acquire.
    // ORDERING: SeqCst: the StoreLoad pair with the M about to block in the poller, which
    // stores `lastpoll = 0` and then re-reads `shutdown` (`find_runnable`): either it sees the
    // flag, or it holds the polling right before the break below, so no other M can consume
    // the break's event before its `epoll_wait`.
    sched.shutdown.store(true, Ordering::SeqCst);
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    let locked = unsafe { sched.locked() };
    for mp in locked.midle.drain(..) {
        mp.park.wakeup();
    }
    sched.lock.unlock();
    sched.sysmon_note.wakeup();
    crate::netpoll::netpoll_break(sched);
    crate::sched::lockosthread::wake_locked_ms(sched);
}

/// An M's (or sysmon's) thread is exiting. The last one frees the free-listed Gs and stacks.
pub(crate) fn m_exit(_mp: &M) {
    let sched = _mp.sched;
    mlive_exit(sched);
}

pub(crate) fn mlive_exit(sched: &'static Sched) {
    // ORDERING: AcqRel: the last thread out sees all the others' writes to the free lists.
    if sched.mlive.fetch_sub(1, Ordering::AcqRel) == 1 {
        teardown(sched);
    }
}

/// Frees what no goroutine can reach any more: the Gs on free lists and their stacks. Parked
/// (abandoned) goroutines keep theirs: a channel may still point into them.
fn teardown(sched: &'static Sched) {
    crate::netpoll::close_at_teardown(sched);
    // A goroutine abandoned mid-request (running when `main` returned) would leave the
    // process-wide `PREEMPT_PENDING` raised for the runtimes that follow.
    for gp in crate::sched::traceback::all_gs(sched) {
        gp.clear_preempt();
    }
    let mut dead: Vec<GPtr> = Vec::new();
    for pp in sched.allp.iter() {
        // SAFETY: every M has exited, so no one holds `pp`.
        dead.append(unsafe { pp.gfree_mut() });
    }
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    dead.append(&mut unsafe { sched.locked() }.gfree);
    sched.lock.unlock();
    sched.allglock.lock();
    // SAFETY: `allgs` is protected by `allglock`, held.
    let allgs = unsafe { &mut *sched.allgs.get() };
    // Sorted, so that dropping 100k dead Gs from `allgs` is not 100k x 100k comparisons.
    dead.sort_unstable_by_key(|g| g.as_ptr() as usize);
    allgs.retain(|g| {
        dead.binary_search_by_key(&(g.as_ptr() as usize), |d| d.as_ptr() as usize)
            .is_err()
    });
    sched.allglock.unlock();
    for gp in dead {
        // SAFETY: a free-listed G has no references (refs == 0) and no running M.
        let slot = unsafe { &mut *gp.coro.get() };
        if let CoroSlot::Stack(s) = std::mem::replace(slot, CoroSlot::Empty) {
            stack::free(s);
        }
        // SAFETY: the G came from `Box::leak` in `new_g` and nothing refers to it any more.
        drop(unsafe { Box::from_raw(gp.as_ptr()) });
    }
}

/// Go's `checkdead`: called when an M goes idle. If every M is idle and goroutines remain, none
/// can ever run again: report the deadlock and exit with status 2. `sched.lock` must be held.
pub(crate) fn checkdead_locked(sched: &'static Sched) {
    if sched.is_shutdown() {
        return;
    }
    // sysmon is an M without a P and never runs goroutines (Go's `nmsys`).
    let run = sched.mcount.load(Ordering::Relaxed) as i64
        - sched.nmidle.load(Ordering::Relaxed) as i64
        - sched.nmidlelocked.load(Ordering::SeqCst) as i64
        - crate::sched::sysmon::NMSYS;
    if run > 0 {
        return;
    }
    if sched.runqsize.load(Ordering::SeqCst) > 0 {
        checkdead_throw(sched, "checkdead: runnable g".into());
    }
    // Every M is idle, so no P is held: a G left in a P's local queue or `runnext` is lost
    // work, a scheduler bug, not a deadlock of the program.
    if let Some(pp) = sched
        .allp
        .iter()
        .find(|pp| !crate::sched::runq::runq_empty(pp))
    {
        let st = &sched.stats;
        checkdead_throw(
            sched,
            format!(
                "checkdead: runnable g in the run queue of P{} ({:?}) while every M is idle \
                 (hog_retakes={}, syscall_handoffs={})",
                pp.id,
                pp.status(),
                st.hog_retakes.load(Ordering::Relaxed),
                st.syscall_handoffs.load(Ordering::Relaxed)
            ),
        );
    }
    // A pending timer will wake something (Go: "if any P has timers, return").
    if crate::time::live(sched) > 0 {
        return;
    }
    sched.lock.unlock();
    let dump = crate::sched::trace::goroutine_dump(sched);
    crate::print::stderr(&format!(
        "fatal error: all goroutines are asleep - deadlock!\n\n{dump}\n"
    ));
    std::process::exit(2);
}

/// `checkdead` found the scheduler inconsistent: prints the scheduler's state as
/// `GODEBUG=scheddetail=1` does, then throws `msg`. Called with `sched.lock` held.
#[cold]
fn checkdead_throw(sched: &'static Sched, msg: String) -> ! {
    sched.lock.unlock();
    crate::sched::trace::schedtrace(sched, true);
    crate::throw!("{msg}");
}

/// Configures and starts a runtime.
///
/// # Examples
/// ```
/// let procs = gort::Builder::new()
///     .max_procs(2)
///     .stack_size(512 * 1024)
///     .run(|| gort::runtime::gomaxprocs());
/// assert_eq!(procs, 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    max_procs: Option<usize>,
    stack_size: Option<usize>,
}

/// The most Ps a runtime may have (Go's `_MaxGomaxprocs` is 1024).
pub const MAX_GOMAXPROCS: usize = 1024;

impl Builder {
    /// A builder with defaults from the environment (`GOMAXPROCS`, `GORT_STACK_SIZE`).
    ///
    /// # Examples
    /// ```
    /// // The same as gort::run(|| 6 * 7).
    /// let answer = gort::Builder::new().run(|| 6 * 7);
    /// assert_eq!(answer, 42);
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Sets GOMAXPROCS, overriding the environment.
    ///
    /// # Panics
    /// If `n` is 0 or above 1024.
    ///
    /// # Examples
    /// ```
    /// gort::Builder::new().max_procs(1).run(|| {
    ///     assert_eq!(gort::runtime::gomaxprocs(), 1); // one goroutine runs at a time
    /// });
    /// ```
    pub fn max_procs(mut self, n: usize) -> Builder {
        assert!(
            (1..=MAX_GOMAXPROCS).contains(&n),
            "gort: Builder::max_procs({n}): GOMAXPROCS must be between 1 and {MAX_GOMAXPROCS}"
        );
        self.max_procs = Some(n);
        self
    }

    /// Sets each goroutine's stack size in bytes (rounded up to whole pages, at least 16 KiB).
    ///
    /// # Examples
    /// ```
    /// let n = gort::Builder::new().stack_size(1 << 20).run(|| {
    ///     // A 256 KiB local would overflow the default stack; 1 MiB has room.
    ///     let h = gort::go(|| std::hint::black_box([1u8; 256 * 1024]).len());
    ///     h.join().unwrap()
    /// });
    /// assert_eq!(n, 256 * 1024);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the runtime on the calling thread, runs `f` as the main goroutine (goroutine 1)
    /// and returns its result once it returns. Goroutines still running then are abandoned, as
    /// in Go. A panic in `f` is resumed on the caller.
    ///
    /// # Panics
    /// If called from inside a running runtime.
    ///
    /// Go: `rt0_go` -> `schedinit`, `newproc(main)`, `mstart` (proc.go).
    ///
    /// # Examples
    /// ```
    /// let answer = gort::Builder::new().max_procs(2).run(|| gort::go(|| 6 * 7).join().unwrap());
    /// assert_eq!(answer, 42);
    /// // A panic in the main goroutine comes out of run.
    /// let r = std::panic::catch_unwind(|| gort::Builder::new().run(|| -> u32 { panic!("boom") }));
    /// assert!(r.is_err());
    /// ```
    pub fn run<F, R>(self, f: F) -> R
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if getm().is_some() {
            panic!(
                "gort: cannot start a runtime from inside a running runtime (gort::run was \
                 called on a thread that is already running goroutines). Use gort::go to start \
                 a goroutine instead"
            );
        }
        // osinit + schedinit.
        let ncpu = env::num_cpu();
        env::raise_fd_limit();
        crate::sched::sysmon::install_sigquit();
        let procs = self
            .max_procs
            .unwrap_or_else(|| env::gomaxprocs_from_env(ncpu));
        let stack_size =
            stack::round_size(self.stack_size.unwrap_or_else(env::stack_size_from_env));
        let sched = Sched::new(procs as u32, stack_size, env::debug_vars());

        // M0 is this thread.
        let m0 = M::new(0, sched);
        let _ = sched.m0.set(m0);
        sched.lock.lock();
        // SAFETY: `sched.lock` is held.
        let locked = unsafe { sched.locked() };
        locked.allm.push(m0);
        locked.mnext = 1;
        sched.mcount.store(1, Ordering::Relaxed);
        sched.mlive.store(1, Ordering::SeqCst);
        let p0 = pidleget_locked(sched).expect("GOMAXPROCS >= 1");
        sched.lock.unlock();
        m::set_current(Some(m0));
        acquirep(m0, p0);

        // newproc(main), then the monitor, then mstart.
        // GORT_TRACE: trace this run, from goroutine 1's creation to its end.
        let traced = crate::trace::start_from_env();
        // Goroutine 1 has no creator: Go prints no "created by" for it.
        let main = newproc1(m0, f, true, 0, std::ptr::null());
        sched.main_started.store(true, Ordering::Relaxed);
        crate::sched::sysmon::start(sched);
        schedule_loop(m0);

        // The main goroutine has returned (possibly on another M).
        // ORDERING: as in `JoinHandle::join`.
        debug_assert!(main.gp.join.load(Ordering::Acquire) & join::COMPLETE != 0);
        let gp = main.gp;
        std::mem::forget(main);
        // SAFETY: the main G completed; this is its only handle.
        let r = unsafe { take_result::<R>(gp) };
        release_ref(gp);
        if traced {
            crate::trace::stop_from_env();
        }
        m::set_current(None);
        m_exit(m0);
        match r {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p.into_payload()),
        }
    }
}
