//! Model: the spinning protocol, "submit: publish work, StoreLoad, check nmspinning" against
//! "stop spinning: decrement nmspinning, StoreLoad, recheck all queues" (docs/design.md,
//! "Spinning and wakep").
//!
//! Mirrors `runtime/src/sched/schedule.rs`: `wakep` (its fence, the `npidle`/`needspinning`
//! early return, the `nmspinning` CAS, `pidleget_spinning_locked`, `startm_locked`),
//! `find_runnable`'s steal decision (the spinner cap), its last steal pass over `runnext`
//! (`runq_steal`), its drop of the P under `Sched::lock` with the `needspinning` "delicate
//! dance", and the spinner's decrement and re-check; the publish side is `runq_put` (the
//! `runnext` swap or a local-queue push, `sched/runq.rs`) and `goready` from a thread without a
//! P (the global queue, `sched/park.rs`). All of it through the miniature in `mini.rs`; the
//! real code cannot run under loom (`runtime/src/loom.rs`).
//!
//! # Checked
//! No runnable G is left while an idle P and a sleeping M exist: when every thread of the
//! model is done, the G was taken, or an M holds a P and is spinning (it goes back to the top
//! of `find_runnable`, which looks at every queue), or `startm` handed a P to a spinning M.
//! And no P is lost or doubled: each P is held by exactly one M, or handed to exactly one
//! started M, or on the idle list exactly once.
//!
//! The two `broken_*` tests remove one barrier each and must fail.

use crate::mini::{
    model, model_with, Breaks, Dropped, MiniSched, Started, Steal, P_IDLE, THREE_THREAD_PREEMPTIONS,
};
use gort_runtime::loom::Ordering;
use loom::sync::Arc;
use loom::thread;

const G: u32 = 1;

/// Where the M that was looking for work ended.
#[derive(Debug, Clone, Copy)]
enum Looker {
    /// Stole the G from the submitter's P.
    Stole {
        p: usize,
    },
    Dropped(Dropped),
}

/// The checks of the module docs. `submitter_p` is the P the submitting M keeps, if any.
fn check(s: &MiniSched, submitter_p: Option<usize>, looker: Looker) {
    let l = s.locked();
    let mut owners = vec![0; s.allp.len()];
    if let Some(p) = submitter_p {
        owners[p] += 1;
    }
    let attended = match looker {
        Looker::Stole { p } => {
            owners[p] += 1;
            true
        }
        Looker::Dropped(Dropped::Found { g, p }) => {
            assert_eq!(g, G);
            owners[p] += 1;
            true
        }
        Looker::Dropped(Dropped::Spinning { p }) => {
            owners[p] += 1;
            true
        }
        Looker::Dropped(Dropped::Idle { .. }) => false,
    };
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
    let spinning_started = l.started.iter().any(|st| st.spinning);
    assert!(
        attended || spinning_started,
        "lost wake-up: G runnable, P idle ({:?}), no M spinning, none started",
        l.pidle
    );
}

/// The submitter holds P0 and readies G into P0's `runnext` (or its local queue), then
/// `wakep`s; the M on P1 is a spinner that found nothing and drops P1.
fn local_submit_vs_spinner(via_runnext: bool, br: Breaks) {
    model(move || {
        let s = Arc::new(MiniSched::new(&[true, true], 1));
        let s2 = s.clone();
        let spinner = thread::spawn(move || s2.drop_p(1, true, 0, br));
        if via_runnext {
            s.allp[0].runnext.swap(G as usize, Ordering::AcqRel);
        } else {
            s.allp[0].q.push(G);
        }
        s.wakep(br);
        let looker = Looker::Dropped(spinner.join().unwrap());
        check(&s, Some(0), looker);
    });
}

#[test]
fn runnext_submit_vs_spinner_dropping_its_p() {
    local_submit_vs_spinner(true, Breaks::default());
}

#[test]
fn local_queue_submit_vs_spinner_dropping_its_p() {
    local_submit_vs_spinner(false, Breaks::default());
}

/// A plain thread (no P: sysmon, a timer callback, a std thread) readies G onto the global
/// queue and `wakep`s; the spinner on P0 drops it; P1 is idle.
fn global_submit_vs_spinner(br: Breaks) {
    model(move || {
        let s = Arc::new(MiniSched::new(&[true, false], 1));
        let s2 = s.clone();
        let spinner = thread::spawn(move || s2.drop_p(0, true, 0, br));
        {
            let mut l = s.locked();
            s.glob_runq_put_locked(&mut l, G);
        }
        s.wakep(br);
        let looker = Looker::Dropped(spinner.join().unwrap());
        if !matches!(looker, Looker::Dropped(Dropped::Found { .. })) {
            assert_eq!(
                s.locked().runq.len(),
                1,
                "the G left the global queue untaken"
            );
        }
        check(&s, None, looker);
    });
}

#[test]
fn global_submit_vs_spinner_dropping_its_p() {
    global_submit_vs_spinner(Breaks::default());
}

/// The submitter holds P0 and readies G into `runnext`; the M on P1 has just run out of work
/// and is not spinning: it decides whether it may spin (`2 * nmspinning < busy Ps`), steals
/// (the last pass, with `runnext`) if so, and drops P1, with the spinner's re-check if it
/// spun, or with the `needspinning` check under the lock if it did not.
#[test]
fn runnext_submit_vs_m_running_out_of_work() {
    model(|| {
        let s = Arc::new(MiniSched::new(&[true, true], 0));
        let s2 = s.clone();
        let looker = thread::spawn(move || {
            let s = &*s2;
            let busy = s.gomaxprocs - s.npidle.load(Ordering::SeqCst);
            let spinning = 2 * s.nmspinning.load(Ordering::SeqCst) < busy;
            if spinning {
                s.become_spinning();
                // `steal_work`'s last pass over P0: its queue, then its `runnext`.
                let mut dest = Vec::new();
                if s.allp[0].status() != P_IDLE {
                    if let Steal::Success(g) = s.allp[0].q.steal_batch_and_pop(&mut dest, 1) {
                        assert_eq!(g, G);
                        return Looker::Stole { p: 1 };
                    }
                    let next = s.allp[0].runnext.load(Ordering::Relaxed);
                    if next != 0
                        && s.allp[0]
                            .runnext
                            .compare_exchange(next, 0, Ordering::Acquire, Ordering::Relaxed)
                            .is_ok()
                    {
                        // Found work: `reset_spinning` would decrement and `wakep`; the G is
                        // taken, which is all this model checks.
                        return Looker::Stole { p: 1 };
                    }
                }
            }
            Looker::Dropped(s.drop_p(1, spinning, 0, Breaks::default()))
        });
        s.allp[0].runnext.swap(G as usize, Ordering::AcqRel);
        s.wakep(Breaks::default());
        let looker = looker.join().unwrap();
        check(&s, Some(0), looker);
    });
}

/// Three Ps: the submitter holds P0 and readies G into `runnext`; the Ms on P1 and P2 both
/// spin, find nothing and drop their Ps. The argument of docs/design.md repeats with the
/// second spinner in the first one's place.
#[test]
fn runnext_submit_vs_two_spinners_dropping_their_ps() {
    model_with(Some(THREE_THREAD_PREEMPTIONS), || {
        let s = Arc::new(MiniSched::new(&[true, true, true], 2));
        let spinners: Vec<_> = [1, 2]
            .into_iter()
            .map(|p| {
                let s2 = s.clone();
                thread::spawn(move || s2.drop_p(p, true, 0, Breaks::default()))
            })
            .collect();
        s.allp[0].runnext.swap(G as usize, Ordering::AcqRel);
        s.wakep(Breaks::default());
        let ends: Vec<Dropped> = spinners.into_iter().map(|t| t.join().unwrap()).collect();
        let l = s.locked();
        let mut owners = vec![1, 0, 0];
        let mut attended = false;
        for end in ends {
            match end {
                Dropped::Spinning { p } => {
                    owners[p] += 1;
                    attended = true;
                }
                Dropped::Found { .. } => unreachable!("nothing on the global queue"),
                Dropped::Idle { .. } => {}
            }
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
        assert!(
            attended || l.started.iter().any(|st| st.spinning),
            "lost wake-up: G runnable, Ps idle ({:?}), no M spinning, none started",
            l.pidle
        );
    });
}

/// Negative control: without `wakep`'s fence, the submitter may read the spinner's old
/// `nmspinning` while the spinner misses the G.
#[test]
#[should_panic(expected = "lost wake-up")]
fn broken_wakep_without_fence() {
    local_submit_vs_spinner(
        true,
        Breaks {
            no_wakep_fence: true,
            ..Breaks::default()
        },
    );
}

/// Negative control: without the StoreLoad after the spinner's decrement, it may miss a G on
/// the global queue while the submitter reads the old `nmspinning`.
#[test]
#[should_panic(expected = "lost wake-up")]
fn broken_spinner_without_storeload() {
    global_submit_vs_spinner(Breaks {
        no_spinner_storeload: true,
        ..Breaks::default()
    });
}
