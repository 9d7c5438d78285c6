//! Goroutine stack overflow: a SIGSEGV/SIGBUS handler (on the thread's alternate signal stack,
//! which std gives every thread it starts) that recognises a fault in a goroutine stack's guard
//! page and prints Go's message with the goroutine's id and how to raise the limit, then exits
//! with status 2. Any other fault goes to the handler that was installed before (std's).
//!
//! # Invariants
//! - The slab registry is append-only: `SLABS[..COUNT]` entries are written before `COUNT` is
//!   published, and never change, so the handler reads them without locks.
//! - The handler is async-signal-safe: atomics, thread-local reads, `write(2)` and `_exit`.

use crate::loom::{AtomicUsize, Ordering};
use std::sync::Once;

/// Slabs the handler knows about (a slab is 256 stacks, so this covers ~1M goroutines).
const MAX_SLABS: usize = 4096;

struct Slab {
    start: AtomicUsize,
    end: AtomicUsize,
    slot: AtomicUsize,
    usable: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slab = Slab {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    slot: AtomicUsize::new(0),
    usable: AtomicUsize::new(0),
};

static SLABS: [Slab; MAX_SLABS] = [EMPTY; MAX_SLABS];
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Records a new stack slab (called under the stack pool lock, so one writer at a time).
pub(crate) fn register_slab(start: usize, end: usize, slot: usize, usable: usize) {
    install();
    // ORDERING: Relaxed field stores published by the Release store of `COUNT`.
    let n = COUNT.load(Ordering::Relaxed);
    if n == MAX_SLABS {
        return; // beyond the registry: overflows there get the plain SIGSEGV
    }
    SLABS[n].start.store(start, Ordering::Relaxed);
    SLABS[n].end.store(end, Ordering::Relaxed);
    SLABS[n].slot.store(slot, Ordering::Relaxed);
    SLABS[n].usable.store(usable, Ordering::Relaxed);
    COUNT.store(n + 1, Ordering::Release);
}

/// The usable size of the goroutine stack whose guard page holds `addr`, if any.
fn guard_hit(addr: usize) -> Option<usize> {
    let page = crate::coro::stack::page_size();
    // ORDERING: Acquire pairs with the Release in `register_slab`.
    let n = COUNT.load(Ordering::Acquire);
    for s in &SLABS[..n] {
        let (start, end) = (
            s.start.load(Ordering::Relaxed),
            s.end.load(Ordering::Relaxed),
        );
        if addr >= start && addr < end {
            let slot = s.slot.load(Ordering::Relaxed);
            let slot_start = start + (addr - start) / slot * slot;
            // The guard, plus a little below it for frames that skipped past it.
            if addr < slot_start + page {
                return Some(s.usable.load(Ordering::Relaxed));
            }
            return None;
        }
    }
    None
}

static mut OLD_SEGV: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();
static mut OLD_BUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction with our handler, SA_SIGINFO|SA_ONSTACK and an empty mask
        // is valid; the old actions are saved (once, before the handler can run) for chaining.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler
                as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGSEGV, &sa, (&raw mut OLD_SEGV).cast());
            libc::sigaction(libc::SIGBUS, &sa, (&raw mut OLD_BUS).cast());
        }
    });
}

fn write_str(s: &[u8]) {
    // SAFETY: write(2) on stderr with a valid buffer; async-signal-safe.
    unsafe { libc::write(2, s.as_ptr().cast(), s.len()) };
}

fn write_num(mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    write_str(&buf[i..]);
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(usable) = guard_hit(addr) {
        // The goroutine running on this thread (a plain TLS read of the M).
        let goid = crate::sched::m::getg().map_or(0, |g| g.goid());
        write_str(b"runtime: goroutine stack exceeds ");
        write_num(usable as u64);
        write_str(b"-byte limit\nfatal error: stack overflow\n\ngoroutine ");
        write_num(goid);
        write_str(
            b" [running]:\n\t(stack not available)\n\ngort goroutine stacks do not grow: raise \
              the size with gort::Builder::stack_size(bytes) or GORT_STACK_SIZE (e.g. 1m)\n",
        );
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(2) };
    }
    // Not ours: hand the signal to the previous handler (std's, or the default).
    let p: *const libc::sigaction = if sig == libc::SIGBUS {
        (&raw const OLD_BUS).cast()
    } else {
        (&raw const OLD_SEGV).cast()
    };
    // SAFETY: `OLD_*` were written by `install` before this handler was registered, and are
    // never written again.
    let old = unsafe { &*p };
    if old.sa_sigaction == libc::SIG_DFL || old.sa_sigaction == libc::SIG_IGN {
        // SAFETY: restoring the default action; returning re-executes the fault, which then
        // kills the process as it would have without us.
        unsafe { libc::sigaction(sig, old, std::ptr::null_mut()) };
        return;
    }
    if old.sa_flags & libc::SA_SIGINFO != 0 {
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            // SAFETY: with SA_SIGINFO the saved action is a three-argument handler.
            unsafe { std::mem::transmute(old.sa_sigaction) };
        f(sig, info, ctx);
    } else {
        let f: extern "C" fn(libc::c_int) =
            // SAFETY: without SA_SIGINFO the saved action is a one-argument handler.
            unsafe { std::mem::transmute(old.sa_sigaction) };
        f(sig);
    }
}
