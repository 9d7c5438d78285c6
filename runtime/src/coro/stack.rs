//! Goroutine stacks: fixed-size slots carved from large slab mappings, with a guard page at the
//! bottom of each slot, pooled process-wide by size.
//!
//! # Invariants
//! - A slot is `[limit, base)`: the lowest page is the guard (never readable or writable), the
//!   rest is usable stack. Slots never move, so pointers into a parked goroutine's stack (a
//!   sudog's `elem`) stay valid for as long as the goroutine is parked.
//! - Guards are installed with `MADV_GUARD_INSTALL` (Linux 6.13+), which does not split the slab's
//!   mapping; on older kernels `mprotect` is used instead (two mappings per stack) after a one-time
//!   warning, because `vm.max_map_count` then caps the number of live goroutines.
//! - Slots are carved lazily with a bump pointer; freed slots go back to the pool of their size.
//!   Nothing is ever unmapped: a slab outlives every goroutine that used it.

use crate::lock::RawLock;
use crate::loom::{AtomicU8, Ordering};
use corosensei::stack::{Stack, StackPointer};
use std::cell::UnsafeCell;

/// The default usable stack size of a goroutine: 256 KiB of address space, of which only the
/// touched pages cost memory. Go starts at 2 KiB and grows; a Rust stack cannot move, so gort
/// reserves room up front (`Builder::stack_size` or `GORT_STACK_SIZE` changes it).
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// The smallest stack a goroutine may have (corosensei's `MIN_STACK_SIZE` plus headroom for the
/// runtime's own frames).
pub const MIN_STACK_SIZE: usize = 16 * 1024;

/// Slots per slab: a slab of 256 KiB stacks is about 68 MiB of address space, one mapping.
const SLAB_SLOTS: usize = 256;

/// Cache colouring: each slot's top is lowered by `color_offset(n)`, so the hot top frames of
/// thousands of stacks (all page-aligned 256 KiB apart) do not fall into the same few cache
/// sets. The offset moves the top by up to 31 cache lines inside a page (L1 sets) and by up to
/// 7 whole pages (L2 sets), 256 colours in all, but never lower than 1984 bytes below a page
/// boundary: a parked goroutine's frames (well under 2 KiB) then stay inside one page, which
/// is what a parked goroutine costs in memory (a random in-page offset made about one in ten
/// straddle two pages). The span is extra address space per slot, never touched.
const COLOR_LINES: usize = 32;
const COLOR_PAGES: usize = 8;
const COLOR_SPAN: usize = COLOR_PAGES * 4096;

/// The colour offset of the `n`th slot of a bucket (see `COLOR_LINES`).
fn color_offset(n: usize) -> usize {
    (n % COLOR_LINES) * 64 + ((n / COLOR_LINES) % COLOR_PAGES) * 4096
}

const MADV_GUARD_INSTALL: libc::c_int = 102;

/// One goroutine stack. See the module docs for its layout.
#[derive(Debug)]
pub struct StackSlot {
    /// The lowest address, guard page included.
    limit: usize,
    /// One past the highest usable byte; the stack grows down from here.
    base: usize,
    /// The pool bucket (requested usable size) this slot belongs to.
    bucket: usize,
}

// SAFETY: a slot is a plain address range owned by whoever holds the value; nothing in it is
// tied to the thread that allocated it.
unsafe impl Send for StackSlot {}

// SAFETY: `base` and `limit` are 16-byte aligned (slot sizes are whole pages), the range below
// `limit + page` is a guard page that faults on access, and the usable part is at least
// `MIN_STACK_SIZE` >= corosensei's `MIN_STACK_SIZE` bytes (enforced by `round_size`).
unsafe impl Stack for StackSlot {
    fn base(&self) -> StackPointer {
        StackPointer::new(self.base).expect("stack base is never null")
    }

    fn limit(&self) -> StackPointer {
        StackPointer::new(self.limit).expect("stack limit is never null")
    }
}

impl StackSlot {
    /// Usable bytes (guard excluded); at least the size requested from `alloc`.
    pub fn usable(&self) -> usize {
        self.base - self.limit - page_size()
    }

    /// Under valgrind, says the usable range is fresh, undefined memory before a new
    /// coroutine's first frames are written into it (see `valgrind::make_mem_undefined`).
    /// Otherwise one load and a branch.
    #[inline]
    pub(crate) fn mark_fresh(&self) {
        if crate::coro::valgrind::running() {
            let start = self.limit + page_size();
            crate::coro::valgrind::make_mem_undefined(start, self.base - start);
        }
    }

    /// Returns the physical pages of this stack, except the top page, to the OS. The contents
    /// are lost; only call this on a stack no goroutine is using.
    pub fn release_memory(&self) {
        let page = page_size();
        let start = self.limit + page;
        let end = self.base - page;
        if end > start {
            // SAFETY: `[start, end)` lies inside this slot's usable range, which belongs to the
            // caller and holds no live data (documented precondition).
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
}

/// Why a stack could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// `mmap` failed: the address space or the kernel's mapping limit is exhausted.
    OutOfMemory(i32),
}

impl std::fmt::Display for StackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackError::OutOfMemory(errno) => write!(
                f,
                "cannot allocate a goroutine stack: mmap failed with errno {errno} (address space \
                 or vm.max_map_count exhausted); lower the stack size with \
                 Builder::stack_size or GORT_STACK_SIZE, or run fewer goroutines"
            ),
        }
    }
}

pub(crate) fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no memory-safety preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize })
}

/// Rounds a requested usable size to whole pages, at least `MIN_STACK_SIZE`.
pub fn round_size(size: usize) -> usize {
    let page = page_size();
    size.max(MIN_STACK_SIZE).div_ceil(page) * page
}

struct Bucket {
    usable: usize,
    free: Vec<StackSlot>,
    /// Next uncarved slot in the current slab, and the slab's end.
    bump: usize,
    end: usize,
}

struct Pool {
    lock: RawLock,
    buckets: UnsafeCell<Vec<Bucket>>,
}

// SAFETY: `buckets` is only touched with `lock` held.
unsafe impl Sync for Pool {}

static POOL: Pool = Pool {
    lock: RawLock::new(),
    buckets: UnsafeCell::new(Vec::new()),
};

/// Guard mode: 0 = unknown, 1 = MADV_GUARD_INSTALL works, 2 = mprotect fallback.
static GUARD_MODE: AtomicU8 = AtomicU8::new(0);

/// Takes a stack with `usable` bytes (already rounded by `round_size`) from the pool, carving a
/// new slot if none is free.
pub fn alloc(usable: usize) -> Result<StackSlot, StackError> {
    POOL.lock.lock();
    // SAFETY: the pool lock is held.
    let buckets = unsafe { &mut *POOL.buckets.get() };
    let idx = match buckets.iter().position(|b| b.usable == usable) {
        Some(i) => i,
        None => {
            buckets.push(Bucket {
                usable,
                free: Vec::new(),
                bump: 0,
                end: 0,
            });
            buckets.len() - 1
        }
    };
    let b = &mut buckets[idx];
    if let Some(s) = b.free.pop() {
        POOL.lock.unlock();
        return Ok(s);
    }
    let slot_size = usable + page_size() + COLOR_SPAN;
    if b.bump == b.end {
        match map_slab(slot_size * SLAB_SLOTS) {
            Ok(start) => {
                b.bump = start;
                b.end = start + slot_size * SLAB_SLOTS;
                crate::coro::overflow::register_slab(start, b.end, slot_size, usable);
            }
            Err(e) => {
                POOL.lock.unlock();
                return Err(e);
            }
        }
    }
    let limit = b.bump;
    b.bump += slot_size;
    let color = color_offset(limit / slot_size);
    POOL.lock.unlock();
    install_guard(limit);
    // Under valgrind, declare the slot a stack (VALGRIND_STACK_REGISTER), so memcheck reads a
    // jump of the stack pointer into or out of it as a stack switch, not as a huge frame
    // (which made it mark live memory unaddressable: docs/reliability.md). Outside valgrind
    // this is a few no-op instructions, once per slot carved. Slots are never unmapped, so the
    // registration is never undone.
    std::mem::forget(corosensei::stack::valgrind::ValgrindStackRegistration::new(
        limit as *mut u8,
        slot_size - color,
    ));
    Ok(StackSlot {
        limit,
        base: limit + slot_size - color,
        bucket: usable,
    })
}

/// Returns a stack to the pool, releasing its memory to the OS first.
pub fn free(slot: StackSlot) {
    slot.release_memory();
    let usable = slot.bucket;
    POOL.lock.lock();
    // SAFETY: the pool lock is held.
    let buckets = unsafe { &mut *POOL.buckets.get() };
    if let Some(b) = buckets.iter_mut().find(|b| b.usable == usable) {
        b.free.push(slot);
    }
    POOL.lock.unlock();
}

fn map_slab(len: usize) -> Result<usize, StackError> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing has no
    // preconditions; the result is checked against MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | map_noreserve(),
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(StackError::OutOfMemory(errno()));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: `p..p+len` is the mapping just created. Transparent huge pages would fault in 2 MiB
    // per stack; NOHUGEPAGE is advice and cannot fail in a way that matters.
    unsafe {
        libc::madvise(p, len, libc::MADV_NOHUGEPAGE);
    }
    Ok(p as usize)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn map_noreserve() -> libc::c_int {
    libc::MAP_NORESERVE
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn map_noreserve() -> libc::c_int {
    0
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn install_guard(limit: usize) {
    let page = page_size();
    if GUARD_MODE.load(Ordering::Relaxed) != 2 {
        // SAFETY: `limit..limit+page` is the first page of a slot we just carved from our own
        // mapping; no one uses it.
        let r = unsafe { libc::madvise(limit as *mut libc::c_void, page, MADV_GUARD_INSTALL) };
        if r == 0 {
            // ORDERING: a hint only; every thread re-tries on its own if it reads 0.
            GUARD_MODE.store(1, Ordering::Relaxed);
            return;
        }
        if GUARD_MODE.swap(2, Ordering::Relaxed) == 0 {
            crate::print::stderr(
                "gort: warning: this kernel lacks MADV_GUARD_INSTALL (Linux 6.13+); goroutine \
                 stack guards fall back to mprotect, which costs two memory mappings per \
                 goroutine, so vm.max_map_count (default 65530) limits live goroutines to about \
                 30,000\n",
            );
        }
    }
    // SAFETY: as above; PROT_NONE on the slot's own first page.
    let r = unsafe { libc::mprotect(limit as *mut libc::c_void, page, libc::PROT_NONE) };
    if r != 0 {
        // Without a guard the stack would be unsound to use; this is an invariant failure.
        crate::throw!("mprotect of a stack guard page failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_disjoint_and_reused() {
        let size = round_size(64 * 1024);
        let a = alloc(size).unwrap();
        let b = alloc(size).unwrap();
        assert!(a.base <= b.limit || b.base <= a.limit);
        assert!(a.usable() >= size);
        let a_limit = a.limit;
        free(a);
        let c = alloc(size).unwrap();
        assert_eq!(c.limit, a_limit);
        free(b);
        free(c);
    }
}
