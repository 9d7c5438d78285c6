//! The spawn path allocates nothing once dead goroutines are there to reuse: `gort::go` and
//! `join` take a G (and its stack) from the P's free list, record where it was created and by
//! whom in the G itself (no allocation per spawn, for goroutine dumps), and park and wake
//! without the heap. A counting global allocator checks it on the M's own thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the counter is a
// thread-local `Cell` with a const initialiser, so counting never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded contract.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Allocations made so far by the calling thread. Read through a non-inlined function, as
/// gort reads its own thread-locals, since the calling goroutine could change threads.
#[inline(never)]
fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

#[test]
fn spawn_and_join_do_not_allocate() {
    // One P: every goroutine runs on M0, the thread whose count is read.
    gort::Builder::new().max_procs(1).run(|| {
        let spawn_join = |n: u64| {
            let mut sum = 0u64;
            for i in 0..n {
                sum += gort::go(move || i).join().unwrap();
            }
            sum
        };
        // Warm up: the first goroutines allocate their G and stack; later ones reuse them.
        spawn_join(100);
        let before = allocs();
        let sum = spawn_join(10_000);
        let after = allocs();
        assert_eq!(sum, 10_000 * 9_999 / 2);
        assert_eq!(
            after - before,
            0,
            "spawn + join allocated {} times",
            after - before
        );
    });
}
