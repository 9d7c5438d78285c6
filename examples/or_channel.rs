//! The or-channel: combine any number of `done` channels into one that closes as soon as any of
//! them closes. This is the recursive `or` from "Concurrency in Go", Chapter 4, "The
//! or-channel", in the seed notes. Go's `select` cannot take a variable number of cases, so
//! `or` selects on the first three channels plus a recursive `or` of the rest. It also passes
//! its own `orDone` down the recursion, so the whole tree of goroutines exits when one fires.
//!
//! Five signals close after an hour, a minute, 20 ms, an hour and a minute. `or` of them must
//! close when the 20 ms one does. The program checks that exactly that signal had fired (not
//! how long it took; the elapsed time is printed for interest only) and exits with status 1
//! otherwise.

use gort::{Chan, Receiver};
use std::time::{Duration, Instant};

/// Go: `func or(channels ...<-chan interface{}) <-chan interface{}`.
fn or(mut channels: Vec<Receiver<()>>) -> Receiver<()> {
    match channels.len() {
        0 => return Chan::nil().split().1, // Go returns nil: a receive blocks forever
        1 => return channels.remove(0),
        _ => {}
    }
    let (or_done_tx, or_done) = gort::chan::<()>(0).split();
    let me = or_done.clone();
    drop(gort::go(move || {
        if channels.len() == 2 {
            gort::select! {
                recv(channels[0]) -> _ => {}
                recv(channels[1]) -> _ => {}
            }
        } else {
            let rest: Vec<_> = channels.drain(3..).chain([me]).collect();
            gort::select! {
                recv(channels[0]) -> _ => {}
                recv(channels[1]) -> _ => {}
                recv(channels[2]) -> _ => {}
                recv(or(rest)) -> _ => {}
            }
        }
        or_done_tx.close(); // Go: defer close(orDone)
    }));
    or_done
}

/// A channel closed after `after` by its own goroutine (the seed's `sig`).
fn sig(after: Duration) -> Receiver<()> {
    let (tx, rx) = gort::chan::<()>(0).split();
    drop(gort::go(move || {
        gort::time::sleep(after);
        tx.close();
    }));
    rx
}

/// Go's non-blocking "is it closed?": `select { case <-c: return true; default: return false }`.
fn closed(c: &Receiver<()>) -> bool {
    gort::select! {
        recv(c) -> _ => true,
        default => false,
    }
}

fn main() {
    let ok = gort::run(|| {
        let (hour, min) = (Duration::from_secs(3600), Duration::from_secs(60));
        let delays = [hour, min, Duration::from_millis(20), hour, min];
        let sigs: Vec<Receiver<()>> = delays.iter().map(|&d| sig(d)).collect();
        let start = Instant::now();
        let any = or(sigs.clone());
        assert_eq!(any.recv(), None, "a done channel only ever closes");
        let elapsed = start.elapsed();
        let fired: Vec<usize> = (0..sigs.len()).filter(|&i| closed(&sigs[i])).collect();
        println!("or of {} signals closed", sigs.len());
        println!("signals closed: {fired:?} (the 20ms one)");
        println!("done after {:.1}ms", elapsed.as_secs_f64() * 1e3);
        // The `or` goroutines see their parent's orDone close and exit; only main and the four
        // sleeping signals remain. Wait (bounded) for them to wind down.
        let others = || gort::runtime::num_goroutine().saturating_sub(1 + 4);
        for _ in 0..1000 {
            if others() == 0 {
                break;
            }
            gort::time::sleep(Duration::from_millis(1));
        }
        let leaked = others();
        println!("or goroutines still running: {leaked}");
        fired == [2] && closed(&any) && leaked == 0
    });
    if !ok {
        eprintln!("or_channel: self-check failed");
        std::process::exit(1);
    }
}
