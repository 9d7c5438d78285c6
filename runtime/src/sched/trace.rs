//! GODEBUG=schedtrace output in Go's format: the `SCHED` line, and with scheddetail=1 a line per
//! P, per M and per G. (Goroutine dumps are `traceback`'s; `goroutine_dump` is re-exported
//! here for the callers that print one.)
//!
//! Format source: Go's `schedtrace` (proc.go, tip), field for field and in its order:
//! - Plain: `SCHED {ms}ms: gomaxprocs= idleprocs= threads= spinningthreads= needspinning=
//!   idlethreads= runqueue=`, each P's local queue length as ` [ a b ]`, then
//!   ` schedticks=[ a b ]` (one value and a space each).
//! - Detailed: the same summary without the brackets, plus ` gcwaiting=false nmidlelocked=N
//!   stopwait=0 sysmonwait=`; then `  P{i}: status= schedtick= syscalltick= m= runqsize=
//!   gfreecnt= timerslen=` for every P in order, `  M{id}: p= curg= mallocing=0 throwing=0
//!   preemptoff= locks=0 dying=0 spinning= blocked= lockedg=` for every M newest first
//!   (Go's `allm` list, sysmon's M included), and `  G{id}: status={n}({reason}) m= lockedm=`
//!   for every G in creation order (Go's `forEachG`, dead Gs included).
//!
//! Fields gort has no counterpart for print Go's idle values: `gcwaiting=false`,
//! `stopwait=0`, `mallocing=0`, `throwing=0`, an empty `preemptoff=`, `locks=0`, `dying=0`.
//!
//! Collecting (`snapshot`, `detail`) is separate from formatting (`format_*`), so the formats
//! are checked against golden strings with made-up numbers.

use crate::loom::Ordering;
use crate::sched::g::WaitReason;
use crate::sched::traceback::all_gs;
use crate::sched::Sched;
use std::fmt::Write;

pub(crate) use crate::sched::traceback::goroutine_dump;

/// A snapshot of the numbers the SCHED line prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedSnapshot {
    /// Milliseconds since the runtime started.
    pub ms: i64,
    /// `gomaxprocs=`.
    pub gomaxprocs: u32,
    /// `idleprocs=`: Ps on the idle list.
    pub idleprocs: u32,
    /// `threads=`: Ms created, sysmon included.
    pub threads: u32,
    /// `spinningthreads=`.
    pub spinningthreads: u32,
    /// `needspinning=`.
    pub needspinning: u32,
    /// `idlethreads=`: Ms on the idle list.
    pub idlethreads: u32,
    /// `runqueue=`: the global run queue's length.
    pub runqueue: u32,
    /// The local run queue length of each P (the bracketed list).
    pub runq_lens: Vec<usize>,
    /// Each P's `schedtick`.
    pub schedticks: Vec<u32>,
}

/// One `  P{i}:` line of scheddetail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PDetail {
    pub status: u8,
    pub schedtick: u32,
    pub syscalltick: u32,
    pub m: Option<i64>,
    pub runqsize: usize,
    pub gfreecnt: usize,
    pub timerslen: u32,
}

/// One `  M{id}:` line of scheddetail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MDetail {
    pub id: i64,
    pub p: Option<u32>,
    pub curg: Option<u64>,
    pub spinning: bool,
    pub blocked: bool,
    /// The goroutine locked to this M (`lock_os_thread`).
    pub lockedg: Option<u64>,
}

/// One `  G{id}:` line of scheddetail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GDetail {
    pub goid: u64,
    pub status: u8,
    pub reason: WaitReason,
    pub m: Option<i64>,
    /// The M this goroutine is locked to.
    pub lockedm: Option<i64>,
}

/// Everything a detailed schedtrace prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchedDetail {
    pub summary: SchedSnapshot,
    pub nmidlelocked: i32,
    pub sysmonwait: bool,
    pub ps: Vec<PDetail>,
    /// Newest first, as Go's `allm`.
    pub ms: Vec<MDetail>,
    /// In creation order, as Go's `allgs`.
    pub gs: Vec<GDetail>,
}

/// sysmon's M id. It is started right after M0 in `Builder::run`, taking id 1 from `mnext`, as
/// Go's `runtime.main` starts sysmon first (its M1); it never holds a P or runs a G.
const SYSMON_M_ID: i64 = 1;

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

fn write_summary(out: &mut String, s: &SchedSnapshot) {
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
}

/// Formats the non-detailed SCHED line (without the trailing newline).
///
/// Go: `schedtrace(false)` (proc.go).
pub fn format_sched_line(s: &SchedSnapshot) -> String {
    let mut out = String::new();
    write_summary(&mut out, s);
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

/// Formats a detailed schedtrace: the summary line and every P, M and G line, each ending in a
/// newline.
///
/// Go: `schedtrace(true)` (proc.go).
pub(crate) fn format_sched_detail(d: &SchedDetail) -> String {
    let mut out = String::new();
    write_summary(&mut out, &d.summary);
    let _ = writeln!(
        out,
        " gcwaiting=false nmidlelocked={} stopwait=0 sysmonwait={}",
        d.nmidlelocked, d.sysmonwait
    );
    for (i, p) in d.ps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  P{i}: status={} schedtick={} syscalltick={} m={} runqsize={} gfreecnt={} \
             timerslen={}",
            p.status,
            p.schedtick,
            p.syscalltick,
            opt(p.m),
            p.runqsize,
            p.gfreecnt,
            p.timerslen
        );
    }
    for m in &d.ms {
        let _ = writeln!(
            out,
            "  M{}: p={} curg={} mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning={} \
             blocked={} lockedg={}",
            m.id,
            opt(m.p),
            opt(m.curg),
            m.spinning,
            m.blocked,
            opt(m.lockedg)
        );
    }
    for g in &d.gs {
        let _ = writeln!(
            out,
            "  G{}: status={}({}) m={} lockedm={}",
            g.goid,
            g.status,
            g.reason.as_str(),
            opt(g.m),
            opt(g.lockedm)
        );
    }
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

fn detail(sched: &Sched) -> SchedDetail {
    // ORDERING: all Relaxed: a diagnostic snapshot, racy by design as Go's is ("we must be
    // careful while reading data from P's, M's and G's").
    let ps = sched
        .allp
        .iter()
        .map(|pp| {
            let mp = pp.m.load(Ordering::Relaxed);
            PDetail {
                status: pp.status() as u8,
                schedtick: pp.schedtick.load(Ordering::Relaxed),
                syscalltick: pp.syscalltick.load(Ordering::Relaxed),
                // SAFETY: Ms are leaked; a non-null pointer is valid.
                m: unsafe { mp.as_ref() }.map(|m| m.id),
                runqsize: pp.stealer.len(),
                // SAFETY: reading the length of the owner's Vec is racy but only used as a
                // count; Go's own schedtrace reads these fields without the owner too.
                gfreecnt: unsafe { (*pp.gfree.get()).len() },
                timerslen: pp.timers.len(),
            }
        })
        .collect();
    // `threads` is read with `allm`, under the lock both are written under, so the M lines
    // number `threads` (Go holds `sched.lock` for the whole print).
    sched.lock.lock();
    // SAFETY: `sched.lock` is held.
    let allm: Vec<_> = unsafe { sched.locked() }
        .allm
        .iter()
        .rev()
        .copied()
        .collect();
    // ORDERING: written under the lock we hold.
    let threads = sched.mcount.load(Ordering::Relaxed);
    sched.lock.unlock();
    let mut ms: Vec<MDetail> = Vec::with_capacity(allm.len() + 1);
    for mp in allm {
        if mp.id < SYSMON_M_ID && !ms.iter().any(|m| m.id == SYSMON_M_ID) {
            ms.push(sysmon_m());
        }
        ms.push(MDetail {
            id: mp.id,
            p: mp.p().map(|p| p.id),
            curg: mp.curg().map(|g| g.goid()),
            spinning: mp.spinning.load(Ordering::Relaxed),
            blocked: mp.blocked.load(Ordering::Relaxed),
            lockedg: crate::sched::lockosthread::lockedg(mp).map(|g| g.goid()),
        });
    }
    let gs = all_gs(sched)
        .into_iter()
        .map(|gp| {
            let m = gp.m.load(Ordering::Relaxed);
            GDetail {
                goid: gp.goid(),
                status: gp.status() as u8,
                reason: gp.wait_reason(),
                // SAFETY: Ms are leaked.
                m: unsafe { m.as_ref() }.map(|m| m.id),
                lockedm: crate::sched::lockosthread::lockedm(gp).map(|m| m.id),
            }
        })
        .collect();
    SchedDetail {
        summary: SchedSnapshot {
            threads,
            ..snapshot(sched)
        },
        nmidlelocked: sched.nmidlelocked.load(Ordering::Relaxed),
        sysmonwait: sched.sysmonwait.load(Ordering::Relaxed),
        ps,
        ms,
        gs,
    }
}

/// sysmon's line: an M with no P and no G, never spinning or parked on the idle list.
fn sysmon_m() -> MDetail {
    MDetail {
        id: SYSMON_M_ID,
        p: None,
        curg: None,
        spinning: false,
        blocked: false,
        lockedg: None,
    }
}

/// Prints the SCHED line (and, if `detailed`, the per-P/M/G lines) to stderr.
///
/// Go: `schedtrace` (proc.go).
pub(crate) fn schedtrace(sched: &Sched, detailed: bool) {
    let out = if detailed {
        format_sched_detail(&detail(sched))
    } else {
        let mut l = format_sched_line(&snapshot(sched));
        l.push('\n');
        l
    };
    crate::print::stderr(&out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> SchedSnapshot {
        SchedSnapshot {
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
        }
    }

    #[test]
    fn sched_line_matches_go_format() {
        let s = summary();
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

    /// A whole scheddetail block against the text Go's `schedtrace(true)` prints for the same
    /// state: two Ps (one running G 7, locked to M2, on M2; one idle), M2, sysmon's M1 and M0
    /// newest first,
    /// and four Gs in creation order (a dead one included).
    #[test]
    fn sched_detail_golden() {
        let d = SchedDetail {
            summary: SchedSnapshot {
                ms: 2003,
                gomaxprocs: 2,
                idleprocs: 1,
                threads: 3,
                spinningthreads: 0,
                needspinning: 0,
                idlethreads: 1,
                runqueue: 0,
                runq_lens: vec![1, 0],
                schedticks: vec![9, 4],
            },
            nmidlelocked: 0,
            sysmonwait: false,
            ps: vec![
                PDetail {
                    status: 1,
                    schedtick: 9,
                    syscalltick: 2,
                    m: Some(2),
                    runqsize: 1,
                    gfreecnt: 3,
                    timerslen: 1,
                },
                PDetail {
                    status: 0,
                    schedtick: 4,
                    syscalltick: 0,
                    m: None,
                    runqsize: 0,
                    gfreecnt: 0,
                    timerslen: 0,
                },
            ],
            ms: vec![
                MDetail {
                    id: 2,
                    p: Some(0),
                    curg: Some(7),
                    spinning: false,
                    blocked: false,
                    lockedg: Some(7),
                },
                sysmon_m(),
                MDetail {
                    id: 0,
                    p: None,
                    curg: None,
                    spinning: false,
                    blocked: true,
                    lockedg: None,
                },
            ],
            gs: vec![
                GDetail {
                    goid: 1,
                    status: 4,
                    reason: WaitReason::ChanReceive,
                    m: None,
                    lockedm: None,
                },
                GDetail {
                    goid: 5,
                    status: 6,
                    reason: WaitReason::Zero,
                    m: None,
                    lockedm: None,
                },
                GDetail {
                    goid: 7,
                    status: 2,
                    reason: WaitReason::Zero,
                    m: Some(2),
                    lockedm: Some(2),
                },
                GDetail {
                    goid: 8,
                    status: 1,
                    reason: WaitReason::Zero,
                    m: None,
                    lockedm: None,
                },
            ],
        };
        let want = "\
SCHED 2003ms: gomaxprocs=2 idleprocs=1 threads=3 spinningthreads=0 needspinning=0 idlethreads=1 runqueue=0 gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false
  P0: status=1 schedtick=9 syscalltick=2 m=2 runqsize=1 gfreecnt=3 timerslen=1
  P1: status=0 schedtick=4 syscalltick=0 m=nil runqsize=0 gfreecnt=0 timerslen=0
  M2: p=0 curg=7 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=false lockedg=7
  M1: p=nil curg=nil mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=false lockedg=nil
  M0: p=nil curg=nil mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=true lockedg=nil
  G1: status=4(chan receive) m=nil lockedm=nil
  G5: status=6() m=nil lockedm=nil
  G7: status=2() m=2 lockedm=2
  G8: status=1() m=nil lockedm=nil
";
        assert_eq!(format_sched_detail(&d), want);
    }
}
