//! How the process ends: Go's deadlock report, a detached goroutine's panic, bad GOMAXPROCS,
//! and the GODEBUG=schedtrace output format. Each scenario runs in a re-executed copy of this
//! test binary so its exit status and stderr can be checked.

mod common;

use common::{scenario, spawn_scenario};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The numbers a scenario printed as `LINES a b ...` (source lines it wants checked).
fn lines_printed(err: &str) -> Vec<u32> {
    let l = err
        .lines()
        .find_map(|l| l.strip_prefix("LINES "))
        .unwrap_or_else(|| panic!("no LINES in: {err}"));
    l.split(' ').map(|n| n.parse().expect(l)).collect()
}

#[test]
fn deadlock_is_reported_like_go() {
    scenario("deadlock", || {
        gort::Builder::new().max_procs(2).run(|| {
            let c = gort::chan::<u32>(0);
            let c2 = c.clone();
            let l_go = line!() + 1;
            drop(gort::go(move || c2.send(1)));
            let never = gort::chan::<u32>(0);
            eprintln!("LINES {l_go} {}", line!() + 1);
            never.recv();
        });
    });
    let o = spawn_scenario("deadlock_is_reported_like_go", "deadlock", &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    let [l_go, l_recv] = lines_printed(&err)[..] else {
        panic!("{err}")
    };
    let f = file!();
    // Go's layout: the message, a blank line, then each goroutine's block (header, the call it
    // is blocked in with the line that called it, where it was created), blank-line separated.
    let want = format!(
        "fatal error: all goroutines are asleep - deadlock!\n\n\
         goroutine 1 [chan receive]:\n\
         gort::Chan::recv(...)\n\
         \t{f}:{l_recv}\n\n\
         goroutine 2 [chan send]:\n\
         gort::Chan::send(...)\n\
         \t{f}:{l_go}\n\
         created by process::deadlock_is_reported_like_go::{{{{closure}}}}::{{{{closure}}}} in goroutine 1\n\
         \t{f}:{l_go}\n"
    );
    assert!(err.contains(&want), "want:\n{want}\ngot:\n{err}");
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
    assert!(
        err.contains("goroutine 2 [running]:\ncreated by process::"),
        "{err}"
    );
    assert!(
        err.contains(" in goroutine 1\n\ttests/process.rs:"),
        "{err}"
    );
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

/// Go's `waitReasonStrings` that gort uses, the empty one (no reason) and gort's own join.
const WAIT_REASONS: [&str; 17] = [
    "",
    "chan receive (nil chan)",
    "chan send (nil chan)",
    "select (no cases)",
    "select",
    "chan receive",
    "chan send",
    "semacquire",
    "sleep",
    "sync.Cond.Wait",
    "sync.Mutex.Lock",
    "sync.RWMutex.RLock",
    "sync.RWMutex.Lock",
    "sync.WaitGroup.Wait",
    "IO wait",
    "preempted",
    "JoinHandle.join",
];

/// Splits `k1=v1 k2=v2 ...` into values, checking the names and their order.
fn fields<'a>(line: &'a str, rest: &'a str, names: &[&str]) -> Vec<&'a str> {
    let parts: Vec<&str> = rest.split(' ').collect();
    assert_eq!(parts.len(), names.len(), "field count: {line}");
    parts
        .iter()
        .zip(names)
        .map(|(p, n)| {
            let (k, v) = p
                .split_once('=')
                .unwrap_or_else(|| panic!("{p:?} in {line}"));
            assert_eq!(k, *n, "{line}");
            v
        })
        .collect()
}

fn is_num(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

fn is_id_or_nil(v: &str) -> bool {
    v == "nil" || is_num(v)
}

fn is_bool(v: &str) -> bool {
    v == "true" || v == "false"
}

/// Checks one scheddetail block against Go's `schedtrace(true)` (proc.go): the summary line
/// with the detailed fields and no run-queue brackets; exactly one line per P, P0 first; one
/// line per M (as many as `threads=`), newest first, M0 last; then one line per G.
fn check_detail_block(block: &[&str], procs: usize) {
    let sched = block[0];
    let rest = sched.strip_prefix("SCHED ").expect(sched);
    let (ms, rest) = rest.split_once("ms: ").expect(sched);
    assert!(is_num(ms), "{sched}");
    let v = fields(
        sched,
        rest,
        &[
            "gomaxprocs",
            "idleprocs",
            "threads",
            "spinningthreads",
            "needspinning",
            "idlethreads",
            "runqueue",
            "gcwaiting",
            "nmidlelocked",
            "stopwait",
            "sysmonwait",
        ],
    );
    assert!(v[..7].iter().all(|x| is_num(x)), "{sched}");
    assert_eq!(v[0], procs.to_string(), "{sched}");
    assert_eq!(&v[7..10], ["false", "0", "0"], "{sched}");
    assert!(is_bool(v[10]), "{sched}");
    let threads: usize = v[2].parse().unwrap();

    let ps = &block[1..1 + procs];
    for (i, l) in ps.iter().enumerate() {
        let rest = l
            .strip_prefix(&format!("  P{i}: "))
            .unwrap_or_else(|| panic!("P{i} expected: {l}"));
        let v = fields(
            l,
            rest,
            &[
                "status",
                "schedtick",
                "syscalltick",
                "m",
                "runqsize",
                "gfreecnt",
                "timerslen",
            ],
        );
        assert!(["0", "1", "2", "3", "4"].contains(&v[0]), "{l}");
        assert!(is_num(v[1]) && is_num(v[2]) && is_id_or_nil(v[3]), "{l}");
        assert!(v[4..].iter().all(|x| is_num(x)), "{l}");
    }

    let ms = &block[1 + procs..1 + procs + threads];
    let mut last = i64::MAX;
    for l in ms {
        let rest = l
            .strip_prefix("  M")
            .unwrap_or_else(|| panic!("M line expected: {l}"));
        let (id, rest) = rest.split_once(": ").expect(l);
        let id: i64 = id.parse().expect(l);
        assert!(id < last, "M lines must be newest first: {block:#?}");
        last = id;
        let v = fields(
            l,
            rest,
            &[
                "p",
                "curg",
                "mallocing",
                "throwing",
                "preemptoff",
                "locks",
                "dying",
                "spinning",
                "blocked",
                "lockedg",
            ],
        );
        assert!(is_id_or_nil(v[0]) && is_id_or_nil(v[1]), "{l}");
        assert_eq!(&v[2..7], ["0", "0", "", "0", "0"], "{l}");
        assert!(is_bool(v[7]) && is_bool(v[8]), "{l}");
        assert_eq!(v[9], "nil", "{l}");
    }
    assert_eq!(last, 0, "M0 comes last: {block:#?}");

    let gs = &block[1 + procs + threads..];
    assert!(!gs.is_empty(), "{block:#?}");
    for l in gs {
        let rest = l
            .strip_prefix("  G")
            .unwrap_or_else(|| panic!("G line expected: {l}"));
        let (id, rest) = rest.split_once(": status=").expect(l);
        assert!(is_num(id), "{l}");
        let (status, rest) = rest.split_once('(').expect(l);
        assert!(["1", "2", "3", "4", "6"].contains(&status), "{l}");
        let (reason, rest) = rest.split_once(") ").expect(l);
        assert!(WAIT_REASONS.contains(&reason), "{l}");
        let v = fields(l, rest, &["m", "lockedm"]);
        assert!(is_id_or_nil(v[0]), "{l}");
        assert_eq!(v[1], "nil", "{l}");
    }
    assert!(
        gs.iter().any(|l| l.starts_with("  G1: status=")),
        "{block:#?}"
    );
}

#[test]
fn scheddetail_prints_p_m_g_lines() {
    scenario("scheddetail", || {
        gort::Builder::new().max_procs(2).run(|| {
            // A goroutine parked on a channel, so G lines show a wait reason.
            let c = gort::chan::<u8>(0);
            let c2 = c.clone();
            let h = gort::go(move || c2.recv());
            let t = std::time::Instant::now();
            while t.elapsed() < std::time::Duration::from_millis(200) {
                gort::go(|| 1).join().unwrap();
            }
            c.send(1);
            h.join().unwrap();
        });
    });
    let o = spawn_scenario(
        "scheddetail_prints_p_m_g_lines",
        "scheddetail",
        &[("GODEBUG", "schedtrace=10,scheddetail=1")],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    // Blocks: a SCHED line and the indented lines after it.
    let lines: Vec<&str> = err.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("SCHED "))
        .collect();
    assert!(!starts.is_empty(), "no SCHED lines in: {err}");
    for &s in &starts {
        let end = (s + 1..lines.len())
            .find(|&i| !lines[i].starts_with("  "))
            .unwrap_or(lines.len());
        check_detail_block(&lines[s..end], 2);
    }
    assert!(
        err.contains("(chan receive) m=nil lockedm=nil"),
        "no parked G line in: {err}"
    );
}

#[test]
fn sigquit_dumps_goroutines_and_exits_2() {
    scenario("sigquit", || {
        gort::Builder::new().max_procs(2).run(|| {
            let c = gort::chan::<u32>(0);
            let c2 = c.clone();
            eprintln!("LINES {}", line!() + 1);
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
    let l = lines_printed(&text)[0];
    assert!(text.contains("SIGQUIT: quit"), "{text}");
    assert!(
        text.contains("goroutine 1 [sleep]:\ngort::time::sleep(...)\n\t"),
        "{text}"
    );
    // sysmon prints the dump, so no goroutine is "the caller": every one shows its recorded
    // frame and creator.
    assert!(
        text.contains(&format!(
            " [chan receive]:\ngort::Chan::recv(...)\n\ttests/process.rs:{l}\ncreated by \
             process::sigquit_dumps_goroutines_and_exits_2::{{{{closure}}}}::{{{{closure}}}} in \
             goroutine 1\n\ttests/process.rs:{l}\n"
        )),
        "{text}"
    );
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
