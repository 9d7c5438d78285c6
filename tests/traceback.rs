//! Goroutine dumps (`gort::runtime::stack_dump`) in Go's format: the header with Go's wait-reason
//! strings, the one recorded frame of a parked goroutine (the gort call it is blocked in and the
//! source line that called it, through `#[track_caller]`), the calling goroutine's own frames,
//! and `created by F in goroutine N` with the `go` call's file:line. These tests check the text,
//! never how long anything took. (The minutes of `[chan receive, 3 minutes]` are checked with
//! made-up wait times by the unit tests of `gort_runtime::sched::traceback`.)

mod common;

use std::sync::Arc;

/// The block of goroutine `id` in a dump: its header up to the blank line after it.
fn block(dump: &str, id: u64) -> &str {
    let start = dump
        .find(&format!("goroutine {id} ["))
        .unwrap_or_else(|| panic!("no goroutine {id} in:\n{dump}"));
    let rest = &dump[start..];
    match rest.find("\n\n") {
        Some(end) => &rest[..end + 1],
        None => rest,
    }
}

/// Dumps until every goroutine in `want` shows its frame (each has parked at least once).
fn dump_when(want: &[(u64, &str)]) -> String {
    for _ in 0..100_000 {
        let d = gort::runtime::stack_dump();
        if want.iter().all(|(id, frame)| {
            d.contains(&format!("goroutine {id} [")) && block(&d, *id).contains(frame)
        }) {
            return d;
        }
        gort::runtime::gosched();
    }
    panic!(
        "goroutines never parked: {:?}\n{}",
        want,
        gort::runtime::stack_dump()
    );
}

/// `created by <this test's closure> in goroutine 1` at `line` of this file.
fn created_here(line: u32) -> String {
    format!(" in goroutine 1\n\t{}:{line}\n", file!())
}

const HELPER_RECV_LINE: u32 = line!() + 3;
#[inline(never)]
fn recv_in_helper(c: &gort::Chan<u32>) -> Option<u32> {
    c.recv()
}

#[test]
fn parked_goroutines_show_their_blocking_call_and_creator() {
    common::run_with(2, || {
        let f = file!();
        let (c, s) = (gort::chan::<u32>(0), gort::chan::<u32>(0));
        let (c1, c2) = (c.clone(), s.clone());
        let l_recv = line!() + 1;
        let recv = gort::go(move || recv_in_helper(&c1));
        let l_send = line!() + 1;
        let send = gort::go(move || c2.send(7));
        let (x, y) = (gort::chan::<u8>(0), gort::chan::<u8>(0));
        let l_sel = line!() + 1;
        let sel = gort::go(move || gort::select! { recv(x) -> _v => {}, recv(y) -> _w => {} });
        let mu = Arc::new(gort::sync::Mutex::new(0u32));
        let guard = mu.lock();
        let mu2 = mu.clone();
        let l_mu = line!() + 1;
        let lock = gort::go(move || *mu2.lock() += 1);
        let wg = Arc::new(gort::sync::WaitGroup::new());
        wg.add(1);
        let wg2 = wg.clone();
        let l_wg = line!() + 1;
        let wait = gort::go(move || wg2.wait());
        let rw = Arc::new(gort::sync::RwMutex::new(0u32));
        let wguard = rw.write();
        let rw2 = rw.clone();
        let l_rw = line!() + 1;
        let read = gort::go(move || *rw2.read());
        let l_nil = line!() + 1;
        let nil = gort::go(|| gort::Chan::<u8>::nil().recv());
        let l_empty = line!() + 1;
        let empty = gort::go(|| gort::select! {});
        let recv_id = recv.goid();
        let l_join = line!() + 1;
        let join = gort::go(move || recv.join().unwrap());
        let wg3 = Arc::new(gort::sync::WaitGroup::new());
        let cv = gort::chan::<u8>(0);
        let cv2 = cv.clone();
        let l_wgo = line!() + 1;
        wg3.go(move || {
            cv2.recv();
        });
        let l_sleep = line!() + 1;
        let sleep = gort::go(|| gort::time::sleep(std::time::Duration::from_secs(3600)));

        let expect = [
            (
                recv_id,
                "gort::Chan::recv(...)".to_string(),
                format!("\t{f}:{HELPER_RECV_LINE}\n"),
                "chan receive",
                l_recv,
            ),
            (
                send.goid(),
                "gort::Chan::send(...)".into(),
                format!("\t{f}:{l_send}\n"),
                "chan send",
                l_send,
            ),
            (
                sel.goid(),
                "gort::select(...)".into(),
                format!("\t{f}:{l_sel}\n"),
                "select",
                l_sel,
            ),
            (
                lock.goid(),
                "gort::sync::Mutex::lock(...)".into(),
                format!("\t{f}:{l_mu}\n"),
                "sync.Mutex.Lock",
                l_mu,
            ),
            (
                wait.goid(),
                "gort::sync::WaitGroup::wait(...)".into(),
                format!("\t{f}:{l_wg}\n"),
                "sync.WaitGroup.Wait",
                l_wg,
            ),
            (
                read.goid(),
                "gort::sync::RwMutex::read(...)".into(),
                format!("\t{f}:{l_rw}\n"),
                "sync.RWMutex.RLock",
                l_rw,
            ),
            (
                nil.goid(),
                "gort::Chan::recv(...)".into(),
                format!("\t{f}:{l_nil}\n"),
                "chan receive (nil chan)",
                l_nil,
            ),
            (
                empty.goid(),
                "gort::select(...)".into(),
                format!("\t{f}:{l_empty}\n"),
                "select (no cases)",
                l_empty,
            ),
            (
                join.goid(),
                "gort::JoinHandle::join(...)".into(),
                format!("\t{f}:{l_join}\n"),
                "JoinHandle.join",
                l_join,
            ),
            (
                sleep.goid(),
                "gort::time::sleep(...)".into(),
                format!("\t{f}:{l_sleep}\n"),
                "sleep",
                l_sleep,
            ),
        ];
        let want: Vec<(u64, &str)> = expect.iter().map(|e| (e.0, e.1.as_str())).collect();
        let d = dump_when(&want);

        // The caller comes first, running, with its own symbolized frames (this closure, in
        // this file), as Go's runtime.Stack(buf, true) prints it. Goroutine 1 has no creator.
        let me = block(&d, 1);
        assert!(d.starts_with("goroutine 1 [running]:\n"), "{d}");
        assert!(me.contains("traceback::parked_goroutines_show"), "{me}");
        assert!(me.contains(&format!("\t{f}:")), "{me}");
        assert!(!me.contains("created by"), "{me}");
        assert!(
            !me.contains("gort_runtime::sched"),
            "dump machinery leaked: {me}"
        );

        for (id, frame, at, reason, created) in &expect {
            let b = block(&d, *id);
            let want = format!(
                "goroutine {id} [{reason}]:\n{frame}\n{at}created by traceback::parked_goroutines_show_their_blocking_call_and_creator::{{{{closure}}}}{}",
                created_here(*created)
            );
            assert_eq!(b, want, "whole dump:\n{d}");
        }
        // A goroutine started by WaitGroup::go is created by it, at the caller's line.
        let wgo = d
            .split("\n\n")
            .find(|b| {
                b.contains("created by gort_sync::waitgroup::WaitGroup::go<...> in goroutine 1")
            })
            .unwrap_or_else(|| panic!("no WaitGroup::go goroutine in:\n{d}"));
        assert!(wgo.trim_end().ends_with(&format!("\t{f}:{l_wgo}")), "{wgo}");

        // Blocks are separated by exactly one blank line; dead goroutines are not listed.
        assert!(!d.contains("\n\n\n"), "{d}");
        assert!(!d.contains("[dead]"), "{d}");
        drop(guard);
        drop(wguard);
        wg.done();
        c.send(1);
        s.recv();
        cv.send(1);
        wg3.wait();
    });
}

#[test]
fn yielded_goroutine_is_runnable_at_its_gosched() {
    common::run_with(1, || {
        let stop = Arc::new(gort::sync::Once::new());
        let stop2 = stop.clone();
        let l = line!() + 3;
        let h = gort::go(move || {
            while !stop2.is_done() {
                gort::runtime::gosched();
            }
        });
        let d = dump_when(&[(h.goid(), "gort::runtime::gosched(...)")]);
        let b = block(&d, h.goid());
        assert!(
            b.starts_with(&format!(
                "goroutine {} [runnable]:\ngort::runtime::gosched(...)\n\t{}:{l}\n",
                h.goid(),
                file!()
            )),
            "{d}"
        );
        stop.call_once(|| {});
        h.join().unwrap();
    });
}

/// Two calls deep below the goroutine's body, so a full stack shows more than the park site.
#[inline(never)]
fn wait_outer(c: &gort::Chan<u8>) -> Option<u8> {
    std::hint::black_box(wait_inner(c))
}

#[inline(never)]
fn wait_inner(c: &gort::Chan<u8>) -> Option<u8> {
    std::hint::black_box(c.recv())
}

#[test]
fn park_stacks_mode_shows_whole_stacks_of_parked_goroutines() {
    common::scenario("park-stacks", || {
        common::run_with(2, || {
            let c = gort::chan::<u8>(0);
            let c2 = c.clone();
            let h = gort::go(move || wait_outer(&c2));
            let want = [
                (h.goid(), "traceback::wait_outer"),
                (h.goid(), "[chan receive]:"),
            ];
            let d = dump_when(&want);
            let b = block(&d, h.goid());
            println!("BLOCK\n{b}END");
            c.send(1);
            h.join().unwrap();
        });
    });
    let o = common::spawn_scenario(
        "park_stacks_mode_shows_whole_stacks_of_parked_goroutines",
        "park-stacks",
        &[("GORT_PARK_STACKS", "1")],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let b = out
        .split("BLOCK\n")
        .nth(1)
        .and_then(|s| s.split("END").next())
        .unwrap_or_else(|| panic!("no block in: {out}"));
    // Innermost first, as Go prints: the channel receive, then both helpers, each with a line
    // of this file; no frames of the dump or park machinery.
    let inner = b.find("traceback::wait_inner(...)").expect(b);
    let outer = b.find("traceback::wait_outer(...)").expect(b);
    assert!(inner < outer, "{b}");
    assert!(b.contains(&format!("\t{}:", file!())), "{b}");
    assert!(!b.contains("park_g") && !b.contains("parkstacks"), "{b}");
    assert!(b.contains("[chan receive]:"), "{b}");
}
