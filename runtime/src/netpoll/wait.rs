//! Waiting on the kernel's event queue (epoll on Linux, kqueue on macOS and the BSDs) from any
//! number of threads at once, and decoding what it returns.
//!
//! mio creates and owns the queue, registers descriptors and drives the waker; only the wait
//! is done here. mio's `Poll::poll` takes `&mut self`, so through it one thread at a time could
//! wait, while Go's scheduler relies on several: an M about to sleep blocks in the poller while
//! others run non-blocking polls in `find_runnable` and sysmon (proc.go). `epoll_wait` and
//! `kevent` are safe to call concurrently on one queue; each edge-triggered event goes to one
//! of the waiters.
//!
//! # Invariants
//! - `fd` is the live queue descriptor of a `mio::Poll` for the whole call (the caller keeps the
//!   poller open while any M can poll: it is closed only at teardown).
//! - The event buffer lives on the caller's stack (`MAX_EVENTS` entries, as Go's netpoll): no
//!   allocation per poll.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Events taken per wait (Go's netpoll uses 128).
const MAX_EVENTS: usize = 128;

/// One event, decoded as Go's netpoll reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    /// The token the descriptor (or the waker) was registered with.
    pub token: usize,
    /// Wake the reader: readable, or the peer hung up or errored.
    pub read: bool,
    /// Wake the writer: writable, or hung up or errored.
    pub write: bool,
}

/// Waits on queue `fd`: `None` until an event, `Some(d)` at most `d` (zero: does not block).
/// Calls `f` for each event. An interrupted wait returns no events.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn wait(fd: RawFd, delay: Option<Duration>, mut f: impl FnMut(Ready)) -> io::Result<()> {
    let ms: libc::c_int = match delay {
        None => -1,
        // Rounded up: a timer due in 0.3 ms must not poll with 0 and spin.
        Some(d) => d
            .as_nanos()
            .div_ceil(1_000_000)
            .min(libc::c_int::MAX as u128) as libc::c_int,
    };
    let mut buf = [libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
    // SAFETY: `buf` is a valid, writable array of MAX_EVENTS epoll_events; `fd` is an epoll
    // descriptor (module invariant).
    let n = unsafe { libc::epoll_wait(fd, buf.as_mut_ptr(), MAX_EVENTS as libc::c_int, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(())
        } else {
            Err(e)
        };
    }
    for ev in &buf[..n as usize] {
        let bits = ev.events as libc::c_int;
        // Go's netpoll_epoll.go: RDHUP wakes only the reader; HUP and ERR wake both.
        f(Ready {
            token: ev.u64 as usize,
            read: bits
                & (libc::EPOLLIN
                    | libc::EPOLLPRI
                    | libc::EPOLLRDHUP
                    | libc::EPOLLHUP
                    | libc::EPOLLERR)
                != 0,
            write: bits & (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) != 0,
        });
    }
    Ok(())
}

/// Waits on queue `fd`: `None` until an event, `Some(d)` at most `d` (zero: does not block).
/// Calls `f` for each event. An interrupted wait returns no events.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn wait(fd: RawFd, delay: Option<Duration>, mut f: impl FnMut(Ready)) -> io::Result<()> {
    let ts = delay.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as _,
    });
    let tsp = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: kevent is plain old data; all-zero is a valid value.
    let mut buf: [libc::kevent; MAX_EVENTS] = unsafe { std::mem::zeroed() };
    // SAFETY: no change list; `buf` is a valid, writable array of MAX_EVENTS kevents; `tsp` is
    // null or points at `ts`, alive for the call; `fd` is a kqueue (module invariant).
    let n = unsafe {
        libc::kevent(
            fd,
            std::ptr::null(),
            0,
            buf.as_mut_ptr(),
            MAX_EVENTS as libc::c_int,
            tsp,
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(())
        } else {
            Err(e)
        };
    }
    for ev in &buf[..n as usize] {
        let eof = ev.flags & (libc::EV_EOF | libc::EV_ERROR) != 0;
        // Go's netpoll_kqueue.go: a read filter with EOF also wakes the writer (a closed pipe
        // may never raise the write filter).
        f(Ready {
            token: ev.udata as usize,
            read: ev.filter == libc::EVFILT_READ || ev.filter == libc::EVFILT_USER,
            write: ev.filter == libc::EVFILT_WRITE || (ev.filter == libc::EVFILT_READ && eof),
        });
    }
    Ok(())
}
