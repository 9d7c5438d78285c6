//! Diagnostics text in Go's formats: the GODEBUG=schedtrace `SCHED` line (and scheddetail's
//! per-P/M/G lines) and goroutine dumps (`goroutine N [reason]:`).
//!
//! Format source: Go's `schedtrace` (proc.go, tip): summary fields in Go's order; per-P run
//! queue lengths as `[ a b ]`; `schedticks=[ a b ]`.

use crate::loom::Ordering;
use crate::sched::g::{GPtr, GStatus};
use crate::sched::Sched;
use std::fmt::Write;

/// A snapshot of the numbers the SCHED line prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedSnapshot {
    pub ms: i64,
    pub gomaxprocs: u32,
    pub idleprocs: u32,
    pub threads: u32,
    pub spinningthreads: u32,
    pub needspinning: u32,
    pub idlethreads: u32,
    pub runqueue: u32,
    pub runq_lens: Vec<usize>,
    pub schedticks: Vec<u32>,
}

/// Formats the non-detailed SCHED line (without the trailing newline).
pub fn format_sched_line(s: &SchedSnapshot) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning={} \
         idlethreads={} runqueue={}",
        s.ms,
        s.gomaxprocs,
        s.idleprocs,
        s.threads,
        s.spinningthreads,
        s.needspinning,
        s.idlethreads,
        s.runqueue
    );
    for (i, n) in s.runq_lens.iter().enumerate() {
        out.push(' ');
        if i == 0 {
            out.push_str("[ ");
        }
        let _ = write!(out, "{n}");
        if i == s.runq_lens.len() - 1 {
            out.push_str(" ]");
        }
    }
    out.push_str(" schedticks=[ ");
    for t in &s.schedticks {
        let _ = write!(out, "{t} ");
    }
    out.push(']');
    out
}

fn snapshot(sched: &Sched) -> SchedSnapshot {
    // ORDERING: all Relaxed: a diagnostic snapshot, racy by design as Go's is.
    SchedSnapshot {
        ms: sched.nanotime() / 1_000_000,
        gomaxprocs: sched.gomaxprocs,
        idleprocs: sched.npidle.load(Ordering::Relaxed),
        threads: sched.mcount.load(Ordering::Relaxed),
        spinningthreads: sched.nmspinning.load(Ordering::Relaxed),
        needspinning: sched.needspinning.load(Ordering::Relaxed),
        idlethreads: sched.nmidle.load(Ordering::Relaxed),
        runqueue: sched.runqsize.load(Ordering::Relaxed),
        runq_lens: sched.allp.iter().map(|p| p.stealer.len()).collect(),
        schedticks: sched
            .allp
            .iter()
            .map(|p| p.schedtick.load(Ordering::Relaxed))
            .collect(),
    }
}

/// Prints the SCHED line (and, if `detailed`, the per-P/M/G lines) to stderr.
///
/// Go: `schedtrace` (proc.go).
pub(crate) fn schedtrace(sched: &Sched, detailed: bool) {
    let s = snapshot(sched);
    let mut out = if detailed {
        let mut line = String::new();
        let _ = writeln!(
            line,
            "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} \
             needspinning={} idlethreads={} runqueue={} gcwaiting=false nmidlelocked=0 \
             stopwait=0 sysmonwait={}",
            s.ms,
            s.gomaxprocs,
            s.idleprocs,
            s.threads,
            s.spinningthreads,
            s.needspinning,
            s.idlethreads,
            s.runqueue,
            sched.sysmonwait.load(Ordering::Relaxed)
        );
        detail_lines(sched, &mut line);
        line
    } else {
        let mut l = format_sched_line(&s);
        l.push('\n');
        l
    };
    if out.is_empty() {
        out.push('\n');
    }
    eprint!("{out}");
}

fn detail_lines(sched: &Sched, out: &mut String) {
    for (i, pp) in sched.allp.iter().enumerate() {
        // ORDERING: diagnostic snapshot.
        let mp = pp.m.load(Ordering::Relaxed);
        // SAFETY: Ms are leaked; a non-null pointer is valid.
        let mid = unsafe { mp.as_ref() }.map_or("nil".to_string(), |m| m.id.to_string());
        // SAFETY: reading the length of the owner's Vec is racy but only used as a count; Go's
        // own schedtrace reads these fields without the owner's cooperation too.
        let gfree = unsafe { (*pp.gfree.get()).len() };
        let _ = writeln!(
            out,
            "  P{i}: status={} schedtick={} syscalltick={} m={mid} runqsize={} gfreecnt={gfree} \
             timerslen={}",
            pp.status() as u8,
            pp.schedtick.load(Ordering::Relaxed),
            pp.syscalltick.load(Ordering::Relaxed),
            pp.stealer.len(),
            pp.timers.len(),
        );
    }
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    let allm: Vec<_> = unsafe { sched.locked() }
        .allm
        .iter()
        .rev()
        .copied()
        .collect();
    sched.lock.unlock();
    for mp in allm {
        let pid = mp.p().map_or("nil".to_string(), |p| p.id.to_string());
        let curg = mp
            .curg()
            .map_or("nil".to_string(), |g| g.goid().to_string());
        let _ = writeln!(
            out,
            "  M{}: p={pid} curg={curg} mallocing=0 throwing=0 preemptoff= locks=0 dying=0 \
             spinning={} blocked={} lockedg=nil",
            mp.id,
            mp.spinning.load(Ordering::Relaxed),
            mp.blocked.load(Ordering::Relaxed),
        );
    }
    for gp in all_gs(sched) {
        // ORDERING: diagnostic snapshot.
        let m = gp.m.load(Ordering::Relaxed);
        // SAFETY: Ms are leaked.
        let mid = unsafe { m.as_ref() }.map_or("nil".to_string(), |m| m.id.to_string());
        let _ = writeln!(
            out,
            "  G{}: status={}({}) m={mid} lockedm=nil",
            gp.goid(),
            gp.status() as u8,
            gp.wait_reason().as_str()
        );
    }
}

fn all_gs(sched: &Sched) -> Vec<GPtr> {
    sched.allglock.lock();
    // SAFETY: `allgs` is protected by `allglock`, held.
    let v = unsafe { (*sched.allgs.get()).clone() };
    sched.allglock.unlock();
    v
}

/// Every live goroutine as Go prints it in a dump: `goroutine N [status]:`.
pub(crate) fn goroutine_dump(sched: &Sched) -> String {
    let mut out = String::new();
    let now = sched.nanotime();
    let mut gs = all_gs(sched);
    gs.sort_by_key(|g| g.goid());
    for gp in gs {
        let st = gp.status();
        let what = match st {
            GStatus::Dead | GStatus::Idle => continue,
            GStatus::Runnable => "runnable".to_string(),
            GStatus::Running => "running".to_string(),
            GStatus::Syscall => "syscall".to_string(),
            GStatus::Waiting => {
                let r = gp.wait_reason().as_str();
                // ORDERING: diagnostic snapshot.
                let mins = (now - gp.waitsince.load(Ordering::Relaxed)) / 60_000_000_000;
                if mins >= 1 {
                    format!("{r}, {mins} minutes")
                } else {
                    r.to_string()
                }
            }
        };
        let _ = writeln!(out, "goroutine {} [{what}]:", gp.goid());
        let _ = writeln!(out, "\t(stack not available)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sched_line_matches_go_format() {
        let s = SchedSnapshot {
            ms: 1004,
            gomaxprocs: 4,
            idleprocs: 2,
            threads: 6,
            spinningthreads: 0,
            needspinning: 0,
            idlethreads: 3,
            runqueue: 0,
            runq_lens: vec![0, 1, 0, 0],
            schedticks: vec![12, 40, 3, 0],
        };
        assert_eq!(
            format_sched_line(&s),
            "SCHED 1004ms: gomaxprocs=4 idleprocs=2 threads=6 spinningthreads=0 needspinning=0 \
             idlethreads=3 runqueue=0 [ 0 1 0 0 ] schedticks=[ 12 40 3 0 ]"
        );
        let one = SchedSnapshot {
            runq_lens: vec![5],
            schedticks: vec![7],
            gomaxprocs: 1,
            ..s
        };
        assert!(format_sched_line(&one).ends_with("runqueue=0 [ 5 ] schedticks=[ 7 ]"));
    }
}
