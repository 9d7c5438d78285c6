//! Memcheck client requests the runtime needs beyond corosensei's stack registration: telling
//! valgrind that a recycled goroutine stack is fresh, undefined memory again.
//!
//! A client request is a magic instruction sequence that valgrind recognises and that runs as a
//! no-op on hardware (valgrind.h, `VALGRIND_DO_CLIENT_REQUEST_EXPR`). corosensei issues the same
//! sequence for `VALGRIND_STACK_REGISTER` but does not export it, so the x86_64 and aarch64
//! forms are written here; on other targets the requests do nothing.
//!
//! # Invariants
//! - Requests only describe memory to valgrind; they never change what the program computes.

use crate::loom::{AtomicU8, Ordering};

/// valgrind's `VG_USERREQ__RUNNING_ON_VALGRIND`.
const RUNNING_ON_VALGRIND: u64 = 0x1001;
/// memcheck's `VG_USERREQ__MAKE_MEM_UNDEFINED`: `VG_USERREQ_TOOL_BASE('M', 'C') + 1`.
const MAKE_MEM_UNDEFINED: u64 = ((b'M' as u64) << 24 | (b'C' as u64) << 16) + 1;

/// Whether the process runs under valgrind: 0 not asked yet, 1 no, 2 yes.
static UNDER_VALGRIND: AtomicU8 = AtomicU8::new(0);

/// Whether the process runs under valgrind (asked once, then one load).
#[inline]
pub(crate) fn running() -> bool {
    // ORDERING: every thread computes the same answer; the store only caches it.
    match UNDER_VALGRIND.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: as in `make_mem_undefined`; this request takes no memory argument.
            let on = unsafe { request(0, &[RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]) } != 0;
            // ORDERING: as above.
            UNDER_VALGRIND.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
        v => v == 2,
    }
}

/// Marks `[start, start + len)` addressable and undefined, as fresh stack memory is.
///
/// Memcheck marks the part of a stack below the stack pointer as unaddressable when the stack
/// shrinks. A stack slot carries that state from its last goroutine, so when a new coroutine's
/// first frames are written there, memcheck reported them as invalid writes.
pub(crate) fn make_mem_undefined(start: usize, len: usize) {
    let args = [MAKE_MEM_UNDEFINED, start as u64, len as u64, 0, 0, 0];
    // SAFETY: the request only reads `args`, which lives across the call; outside valgrind the
    // sequence is a no-op (register rotations by a total of 128 bits, and a self-exchange).
    let _ = unsafe { request(0, &args) };
}

#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn request(default: u64, args: &[u64; 6]) -> u64 {
    let result;
    // SAFETY: valgrind's x86_64 client-request preamble (valgrind.h); `rdi` is rotated by
    // 3 + 13 + 61 + 51 = 128 bits, so it ends unchanged; `xchg rbx, rbx` changes nothing.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") default => result,
            in("rax") args.as_ptr(),
            options(nostack),
        );
    }
    result
}

#[cfg(target_arch = "aarch64")]
#[inline]
unsafe fn request(default: u64, args: &[u64; 6]) -> u64 {
    let result;
    // SAFETY: valgrind's arm64 client-request preamble (valgrind.h); `x12` is rotated by 128
    // bits in all, so it ends unchanged; `orr x10, x10, x10` changes nothing.
    unsafe {
        core::arch::asm!(
            "ror x12, x12, #3",
            "ror x12, x12, #13",
            "ror x12, x12, #61",
            "ror x12, x12, #51",
            "orr x10, x10, x10",
            inout("x3") default => result,
            in("x4") args.as_ptr(),
            options(nostack),
        );
    }
    result
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
unsafe fn request(default: u64, _args: &[u64; 6]) -> u64 {
    default
}
