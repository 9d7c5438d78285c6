//! Model: sysmon retaking a P from a blocking call, against the call returning.
//!
//! Mirrors `runtime/src/sched/syscall.rs`: `exitsyscall` (the fast path CAS of its old P
//! `Syscall -> Running`; else drop the stale P and take an idle one under `Sched::lock`; else
//! the `Suspend::ExitSyscall` path of `execute` in `schedule.rs`, which tries once more for an
//! idle P and otherwise puts the G on the global queue and sends the M to `stopm`), and
//! sysmon's `retake_syscall` (the CAS `Syscall -> Idle`, `syscalltick` bumped) with `handoffp`
//! (an M if there is local or global work, a spinning M if nobody spins and no P is idle,
//! else the idle list). Built on the miniature in `mini.rs`; the real code cannot run under
//! loom (`runtime/src/loom.rs`). sysmon's eligibility test (the `syscalltick` and 10 ms
//! checks) is taken as passed: the race is what happens after it.
//!
//! # Checked
//! - Exactly one of the two CASes wins: the returning M keeps its P, or sysmon takes it.
//! - Nobody loses the P: at the end every P is held by exactly one M (the returning one, or one
//!   `handoffp` started) or is on the idle list exactly once.
//! - The G is not lost: it runs on the returning M, or it is on the global queue and an M was
//!   started (it will find it) or no P is idle.
//! - The P's queue changes hands with the status: the M pushes a G onto it before entering the
//!   call (a Release store of `Syscall`), and sysmon's `handoffp`, after its CAS (Acquire),
//!   sees that work and starts a non-spinning M for it.
//!
//! sysmon runs from before the call starts, so its CAS may also come first and fail.

use crate::mini::{model, MiniSched, Started, P_SYSCALL};
use gort_runtime::loom::Ordering;
use loom::sync::Arc;
use loom::thread;

const G: u32 = 1;

/// Where the returning M ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Won its old P back (fast path).
    Fast,
    /// Runs the G on this idle P.
    IdleP(usize),
    /// Queued the G globally and went to `stopm`.
    Queued,
}

/// `exitsyscall` for the M whose old P is `p`.
fn exitsyscall(s: &MiniSched, p: usize, no_cas: bool) -> Exit {
    let won = if no_cas {
        // The negative control's bug: check, then set.
        let mine = s.allp[p].status() == P_SYSCALL;
        if mine {
            s.allp[p].set_status(crate::mini::P_RUNNING);
        }
        mine
    } else {
        s.allp[p].cas_status(P_SYSCALL, crate::mini::P_RUNNING)
    };
    if won {
        let t = s.allp[p].syscalltick.load(Ordering::Relaxed);
        s.allp[p]
            .syscalltick
            .store(t.wrapping_add(1), Ordering::Relaxed);
        return Exit::Fast;
    }
    if let Some(p2) = s.pidleget_locked(&mut s.locked()) {
        s.acquirep(p2);
        return Exit::IdleP(p2);
    }
    // Suspend::ExitSyscall, then `execute` on the M's own stack.
    let mut l = s.locked();
    if let Some(p2) = s.pidleget_locked(&mut l) {
        drop(l);
        s.acquirep(p2);
        return Exit::IdleP(p2);
    }
    s.glob_runq_put_locked(&mut l, G);
    drop(l);
    // stopm: on `midle` (id 1) until `startm` hands it a P.
    s.locked().midle.push(1);
    Exit::Queued
}

/// `retake_syscall` past its eligibility checks, then `handoffp`. True if it took the P.
fn retake(s: &MiniSched, p: usize) -> bool {
    let pp = &s.allp[p];
    let t = pp.syscalltick.load(Ordering::Relaxed);
    if !pp.cas_status(P_SYSCALL, crate::mini::P_IDLE) {
        return false;
    }
    pp.syscalltick.store(t.wrapping_add(1), Ordering::Relaxed);
    // handoffp
    let mut l = s.locked();
    let global = l.runq.len();
    if !s.runq_empty(p) || global > 0 {
        s.startm_locked(&mut l, p, false);
        return true;
    }
    if s.nmspinning.load(Ordering::SeqCst) + s.npidle.load(Ordering::SeqCst) == 0
        && s.nmspinning
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        s.startm_locked(&mut l, p, true);
        return true;
    }
    // (The last-running-P case needs network waiters; the model has none.)
    s.pidleput_locked(&mut l, p);
    true
}

/// P0's M enters and leaves a blocking call while sysmon tries to retake P0; the other Ps
/// are idle. With `local_work` a G waits on P0's local queue during the call.
fn retake_vs_exitsyscall(gomaxprocs: usize, local_work: bool, no_cas: bool) {
    model(move || {
        let mut held = vec![false; gomaxprocs];
        held[0] = true;
        let s = Arc::new(MiniSched::new(&held, 0));
        let s2 = s.clone();
        let sysmon = thread::spawn(move || retake(&s2, 0));
        // The M on P0: its G readies another onto P0's queue, then enters the call
        // (`entersyscall`: P0 Running -> Syscall, a Release store), and returns from it.
        if local_work {
            s.allp[0].q.push(2);
        }
        s.allp[0].set_status(P_SYSCALL);
        let exit = exitsyscall(&s, 0, no_cas);
        let took = sysmon.join().unwrap();
        assert_eq!(
            took,
            exit != Exit::Fast,
            "both or neither won the P: {exit:?}"
        );

        let l = s.locked();
        let mut owners = vec![0; gomaxprocs];
        match exit {
            Exit::Fast => owners[0] += 1,
            Exit::IdleP(p) => owners[p] += 1,
            Exit::Queued => {}
        }
        for &p in &l.pidle {
            owners[p] += 1;
        }
        for &Started { p, .. } in &l.started {
            owners[p] += 1;
        }
        assert!(
            owners.iter().all(|&n| n == 1),
            "a P lost or doubled: {owners:?}"
        );
        if exit == Exit::Queued {
            assert_eq!(l.runq.len(), 1);
            assert!(
                !l.started.is_empty() || l.pidle.is_empty(),
                "the G is queued, a P is idle and no M was started"
            );
        }
        if local_work && took {
            assert!(
                l.started.contains(&Started {
                    p: 0,
                    spinning: false
                }),
                "handoffp missed P0's local work: {:?}",
                l.started
            );
        }
        let spinning = l.started.iter().filter(|st| st.spinning).count() as u32;
        assert_eq!(s.nmspinning.load(Ordering::SeqCst), spinning);
    });
}

#[test]
fn retake_vs_exitsyscall_one_p() {
    retake_vs_exitsyscall(1, false, false);
}

#[test]
fn retake_vs_exitsyscall_one_p_with_local_work() {
    retake_vs_exitsyscall(1, true, false);
}

#[test]
fn retake_vs_exitsyscall_two_ps() {
    retake_vs_exitsyscall(2, false, false);
}

/// Negative control: an exiting M that checks its P's status and then stores Running, instead
/// of CASing it, can keep the P that sysmon has just handed to someone else.
#[test]
#[should_panic(expected = "both or neither won the P")]
fn broken_exitsyscall_without_cas() {
    retake_vs_exitsyscall(1, false, true);
}
