//! How the process ends: Go's deadlock report, a detached goroutine's panic, bad GOMAXPROCS,
//! and the GODEBUG=schedtrace output format. Each scenario runs in a re-executed copy of this
//! test binary so its exit status and stderr can be checked.

mod common;

use common::{scenario, spawn_scenario};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn deadlock_is_reported_like_go() {
    scenario("deadlock", || {
        gort::Builder::new().max_procs(2).run(|| {
            let c = gort::chan::<u32>(0);
            let c2 = c.clone();
            drop(gort::go(move || c2.send(1)));
            let never = gort::chan::<u32>(0);
            never.recv();
        });
    });
    let o = spawn_scenario("deadlock_is_reported_like_go", "deadlock", &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.contains("fatal error: all goroutines are asleep - deadlock!"),
        "{err}"
    );
    assert!(err.contains("goroutine 1 [chan receive]:"), "{err}");
    assert!(err.contains("[chan send]:"), "{err}");
}

#[test]
fn deadlock_on_nil_channel_and_join() {
    scenario("deadlock-nil", || {
        gort::Builder::new().max_procs(1).run(|| {
            let h = gort::go(|| gort::Chan::<u8>::nil().recv());
            h.join().unwrap();
        });
    });
    let o = spawn_scenario("deadlock_on_nil_channel_and_join", "deadlock-nil", &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.contains("all goroutines are asleep - deadlock!"),
        "{err}"
    );
    assert!(err.contains("[chan receive (nil chan)]:"), "{err}");
    assert!(err.contains("goroutine 1 [JoinHandle.join]:"), "{err}");
}

#[test]
fn empty_select_alone_is_a_deadlock() {
    scenario("empty-select", || {
        gort::Builder::new().max_procs(1).run(|| gort::select! {});
    });
    let o = spawn_scenario("empty_select_alone_is_a_deadlock", "empty-select", &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.contains("all goroutines are asleep - deadlock!"),
        "{err}"
    );
    assert!(err.contains("goroutine 1 [select (no cases)]:"), "{err}");
}

#[test]
fn detached_goroutine_panic_ends_the_process() {
    scenario("detached-panic", || {
        gort::Builder::new().max_procs(2).run(|| {
            drop(gort::go(|| panic!("detached boom")));
            let never = gort::chan::<u32>(0);
            never.recv();
        });
    });
    let o = spawn_scenario(
        "detached_goroutine_panic_ends_the_process",
        "detached-panic",
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("panic: detached boom"), "{err}");
    assert!(err.contains("goroutine 2 [running]:"), "{err}");
}

#[test]
fn bad_gomaxprocs_warns_and_uses_the_default() {
    scenario("bad-gomaxprocs", || {
        let n = gort::run(gort::runtime::gomaxprocs);
        assert_eq!(n, gort::runtime::num_cpu().min(1024));
    });
    for bad in ["abc", "0", "-3", "2x"] {
        let o = spawn_scenario(
            "bad_gomaxprocs_warns_and_uses_the_default",
            "bad-gomaxprocs",
            &[("GOMAXPROCS", bad)],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "GOMAXPROCS={bad:?}: {err}");
        assert!(err.contains("gort: ignoring GOMAXPROCS="), "{err}");
    }
    // Empty is unset, as in Go: no warning.
    let o = spawn_scenario(
        "bad_gomaxprocs_warns_and_uses_the_default",
        "bad-gomaxprocs",
        &[("GOMAXPROCS", "")],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("ignoring"));
}

#[test]
fn gomaxprocs_env_is_honoured() {
    scenario("gomaxprocs-3", || {
        assert_eq!(gort::run(gort::runtime::gomaxprocs), 3);
    });
    let o = spawn_scenario(
        "gomaxprocs_env_is_honoured",
        "gomaxprocs-3",
        &[("GOMAXPROCS", "3")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Checks one SCHED line against Go's format (proc.go `schedtrace`, non-detailed).
fn check_sched_line(line: &str, procs: usize) {
    let rest = line.strip_prefix("SCHED ").expect(line);
    let (ms, rest) = rest.split_once("ms: ").expect(line);
    ms.parse::<u64>().expect(line);
    let fields: Vec<&str> = rest.split(' ').collect();
    let names = [
        "gomaxprocs",
        "idleprocs",
        "threads",
        "spinningthreads",
        "needspinning",
        "idlethreads",
        "runqueue",
    ];
    for (f, name) in fields.iter().zip(names) {
        let (k, v) = f.split_once('=').expect(line);
        assert_eq!(k, name, "{line}");
        v.parse::<u64>().expect(line);
    }
    assert_eq!(fields[0], format!("gomaxprocs={procs}"));
    let tail = &fields[names.len()..];
    // [ a b ... ] schedticks=[ a b ... ]
    assert_eq!(tail[0], "[", "{line}");
    assert_eq!(tail[procs + 1], "]", "{line}");
    assert_eq!(tail[procs + 2], "schedticks=[", "{line}");
    assert_eq!(tail[2 * procs + 3], "]", "{line}");
    assert_eq!(tail.len(), 2 * procs + 4, "{line}");
}

#[test]
fn schedtrace_prints_go_format_lines() {
    scenario("schedtrace", || {
        gort::Builder::new().max_procs(2).run(|| {
            let t = std::time::Instant::now();
            // Busy for a while so sysmon prints a few lines.
            while t.elapsed() < std::time::Duration::from_millis(200) {
                let h = gort::go(|| 1);
                h.join().unwrap();
            }
        });
    });
    let o = spawn_scenario(
        "schedtrace_prints_go_format_lines",
        "schedtrace",
        &[("GODEBUG", "schedtrace=10")],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(!lines.is_empty(), "no SCHED lines in: {err}");
    for l in lines {
        check_sched_line(l, 2);
    }
}

#[test]
fn scheddetail_prints_p_m_g_lines() {
    scenario("scheddetail", || {
        gort::Builder::new().max_procs(2).run(|| {
            let t = std::time::Instant::now();
            while t.elapsed() < std::time::Duration::from_millis(200) {
                gort::go(|| 1).join().unwrap();
            }
        });
    });
    let o = spawn_scenario(
        "scheddetail_prints_p_m_g_lines",
        "scheddetail",
        &[("GODEBUG", "schedtrace=10,scheddetail=1")],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let sched = err.lines().find(|l| l.starts_with("SCHED ")).expect(&err);
    assert!(
        sched.contains(" gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait="),
        "{sched}"
    );
    assert!(err.lines().any(|l| l.starts_with("  P0: status=")), "{err}");
    assert!(err.lines().any(|l| l.starts_with("  P1: status=")), "{err}");
    assert!(err.lines().any(|l| l.starts_with("  M0: p=")), "{err}");
    assert!(err.lines().any(|l| l.starts_with("  G1: status=")), "{err}");
}

#[test]
fn sigquit_dumps_goroutines_and_exits_2() {
    scenario("sigquit", || {
        gort::Builder::new().max_procs(2).run(|| {
            let c = gort::chan::<u32>(0);
            let c2 = c.clone();
            drop(gort::go(move || c2.recv()));
            // Tell the parent once both goroutines are parked (so the dump is deterministic),
            // from a third goroutine; everyone waits on timers, which is not a deadlock.
            drop(gort::go(|| {
                loop {
                    let d = gort::runtime::stack_dump();
                    if d.contains("goroutine 1 [sleep]:") && d.contains("[chan receive]:") {
                        break;
                    }
                    gort::time::sleep(std::time::Duration::from_millis(1));
                }
                eprintln!("READY");
                gort::time::sleep(std::time::Duration::from_secs(3600));
            }));
            gort::time::sleep(std::time::Duration::from_secs(3600));
        });
    });
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "sigquit_dumps_goroutines_and_exits_2",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(common::SCENARIO, "sigquit")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    use std::io::Read;
    while !String::from_utf8_lossy(&seen).contains("READY") {
        let n = err.read(&mut buf).unwrap();
        assert!(n > 0, "child ended before it was ready");
        seen.extend_from_slice(&buf[..n]);
    }
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
    err.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert_eq!(status.code(), Some(2), "{text}");
    assert!(text.contains("SIGQUIT: quit"), "{text}");
    assert!(text.contains("goroutine 1 [sleep]:"), "{text}");
    assert!(text.contains("[chan receive]:"), "{text}");
}

#[test]
fn goroutine_stack_overflow_is_reported() {
    scenario("overflow", || {
        fn recurse(n: u64) -> u64 {
            let pad = std::hint::black_box([n; 64]);
            if n == u64::MAX {
                return pad[0];
            }
            recurse(n + 1) + std::hint::black_box(pad[1])
        }
        gort::Builder::new()
            .max_procs(2)
            .stack_size(64 * 1024)
            .run(|| {
                let h = gort::go(|| recurse(0));
                let _ = h.join();
            });
    });
    let o = spawn_scenario("goroutine_stack_overflow_is_reported", "overflow", &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("fatal error: stack overflow"), "{err}");
    assert!(
        err.contains("runtime: goroutine stack exceeds 65536-byte limit"),
        "{err}"
    );
    assert!(err.contains("goroutine 2 [running]:"), "{err}");
    assert!(err.contains("GORT_STACK_SIZE"), "{err}");
}
