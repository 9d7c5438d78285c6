//! Runs every program in `examples/` as a child process under `GOMAXPROCS=1` and `2`, and
//! checks its exit status and the lines of its output that do not depend on timing.
//!
//! Examples are not binaries of the package, so Cargo gives no `CARGO_BIN_EXE_*` for them.
//! The test finds them in `target/<profile>/examples/`, next to its own `deps/` directory.
//! `cargo test` builds examples before it runs tests, but `cargo test --test examples` does not,
//! so the first test to run also calls `cargo build --examples` with the same profile. When
//! the examples are up to date, that call does nothing.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one run of an example may take before it is killed and the test fails.
/// Every example finishes in well under a second when it works.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The GOMAXPROCS values every example runs under.
const PROCS: [&str; 2] = ["1", "2"];

/// `target/<profile>`: the parent of the `deps/` directory holding this test binary.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test binary");
    let deps = exe
        .parent()
        .expect("test binary is in target/<profile>/deps");
    deps.parent()
        .expect("deps/ is in target/<profile>")
        .to_path_buf()
}

/// Builds the examples once per test process with this binary's profile; panics on failure.
fn build_examples() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let profile = profile_dir();
        let name = profile.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--examples", "--quiet"]);
        match name {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "`cargo build --examples` ({name} profile) failed: {status}"
            ))
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
}

/// What a run of an example printed.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs example `name` with `args` under `GOMAXPROCS=procs`; panics unless it exits with status 0.
fn run(name: &str, args: &[&str], procs: &str) -> Run {
    build_examples();
    let path = profile_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{} not found: build the examples first (`cargo build --release --examples`)",
        path.display()
    );
    let mut child = Command::new(&path)
        .args(args)
        .env("GOMAXPROCS", procs)
        .env_remove("GODEBUG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    // Read both pipes on their own threads so a chatty child cannot block on a full pipe.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).map(|_| s)
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for example") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} (GOMAXPROCS={procs}) still running after {TIMEOUT:?}");
        }
        // The test thread polls a child process; it runs no goroutines.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out.join().unwrap().expect("example stdout is UTF-8");
    let stderr = err.join().unwrap().expect("example stderr is UTF-8");
    assert!(
        status.success(),
        "{name} {args:?} (GOMAXPROCS={procs}) exited with {status}\n\
         --- stdout:\n{stdout}--- stderr:\n{stderr}"
    );
    Run { stdout, stderr }
}

/// Runs `name` under every `PROCS` value and checks that stdout has each of `lines` as a line.
fn check_lines(name: &str, args: &[&str], lines: &[&str]) {
    for procs in PROCS {
        let r = run(name, args, procs);
        for want in lines {
            assert!(
                r.stdout.lines().any(|l| l == *want),
                "{name} (GOMAXPROCS={procs}): no line {want:?} in stdout\n\
                 --- stdout:\n{}--- stderr:\n{}",
                r.stdout,
                r.stderr
            );
        }
    }
}

/// Runs `name` under every `PROCS` value and checks that stdout is exactly `want`.
fn check_exact(name: &str, args: &[&str], want: &str) {
    for procs in PROCS {
        let r = run(name, args, procs);
        assert_eq!(
            r.stdout, want,
            "{name} (GOMAXPROCS={procs}) stdout; stderr:\n{}",
            r.stderr
        );
    }
}

#[test]
fn sieve_prints_the_first_ten_primes() {
    check_exact("sieve", &["10"], "2\n3\n5\n7\n11\n13\n17\n19\n23\n29\n");
}

#[test]
fn pipeline_sums_correctly() {
    // Sum of i*i + 1 for i in 1..=1000 = 1000*1001*2001/6 + 1000.
    check_lines("pipeline", &["1000"], &["sum = 333834500"]);
}

#[test]
fn fan_in_merges_and_cancels() {
    check_lines(
        "fan_in",
        &[],
        &[
            "source 0: 10 values",
            "source 1: 10 values",
            "source 2: 10 values",
            "merged 30 values, each exactly once: true",
            "took 5 values, closed done; merged channel closed",
        ],
    );
}

#[test]
fn or_channel_closes_with_the_first_signal() {
    check_lines(
        "or_channel",
        &[],
        &[
            "or of 5 signals closed",
            "signals closed: [2] (the 20ms one)",
            "or goroutines still running: 0",
        ],
    );
}

#[test]
fn or_done_stops_on_close_and_on_done() {
    check_lines(
        "or_done",
        &[],
        &[
            "finite stream: sum of 0..5 = 10, loop ended when the stream closed",
            "endless stream: first 10 values are 0..10: true",
            "closed done; the loop ended though the producer ignores done",
        ],
    );
}

#[test]
fn tee_gives_both_outputs_every_value() {
    check_exact(
        "tee",
        &[],
        "out1: 1, out2: 1\nout1: 2, out2: 2\nout1: 1, out2: 1\nout1: 2, out2: 2\n",
    );
}

#[test]
fn bridge_flattens_in_order() {
    check_exact("bridge", &[], "0 1 2 3 4 5 6 7 8 9\n");
}

#[test]
fn timeout_picks_the_right_case() {
    check_lines(
        "timeout",
        &[],
        &[
            "fast call: got 42",
            "slow call: timed out",
            r#"per-receive timeout: got ["a", "b", "c"], then timed out"#,
            "overall deadline: fired while values kept coming",
        ],
    );
}

#[test]
fn worker_pool_stays_within_its_bound() {
    check_lines(
        "worker_pool",
        &[],
        &[
            "20 jobs done, results correct: true",
            "at most 3 at once: true",
        ],
    );
}

#[test]
fn ttl_cache_counts_and_expires() {
    check_lines(
        "ttl_cache",
        &[],
        &[
            "stats: hits 804, misses 3, evictions 1, expirations 1",
            "inserting page:3 into a full cache evicted page:1: true",
            "cleanup goroutine stopped",
        ],
    );
}

#[test]
fn graceful_pool_recovers_panics_and_shuts_down() {
    check_lines(
        "graceful_pool",
        &[],
        &[
            "final: total 20, completed 16, failed 4, active workers 0",
            "recovered panics: [\"task-0\", \"task-14\", \"task-7\"]",
            "forced shutdown: Err(\"shutdown timeout\")",
        ],
    );
}

#[test]
fn downloader_sim_honours_the_context() {
    check_lines(
        "downloader_sim",
        &[],
        &[
            "https://example.com/slow1.zip: context deadline exceeded",
            "at most 3 fetching at once: true",
            "errgroup: wait returned Err(\"https://example.com/broken.zip: HTTP 404 Not Found\")",
            "https://example.com/flaky.zip: Ok(29696) after 3 attempts",
        ],
    );
}

#[test]
fn downloader_fetches_over_http_with_errors_per_url() {
    check_lines(
        "downloader",
        &[],
        &[
            "server:/stall/big.iso: context deadline exceeded",
            "server:/trickle/huge.iso: context deadline exceeded",
            "server:/files/file1.zip: 90000 bytes, every byte checked",
            "server:/files/archive.tar.gz: 140000 bytes, every byte checked",
            "server:/missing.zip: bad status: 404 Not Found",
            "closed-port:/files/file4.zip: dial tcp: connection refused",
            "11 URLs: 7 downloaded (640000 bytes), 4 failed",
            "at most 3 downloading at once: true",
            r#"errgroup: wait returned Err("server:/missing.zip: bad status: 404 Not Found")"#,
            r#"errgroup: server:/stall/big.iso: Err("context canceled")"#,
        ],
    );
}

#[test]
fn sleepers_all_wake() {
    check_lines(
        "sleepers",
        &["2000", "10"],
        &["sleepers: 2000 goroutines slept 10ms each"],
    );
}

#[test]
fn rate_limit_spends_tokens() {
    check_lines(
        "rate_limit",
        &[],
        &[
            "20 of 20 calls done",
            "waiting for an hourly token with a 5ms deadline: context deadline exceeded",
        ],
    );
}

#[test]
fn echo_round_trips() {
    check_lines(
        "echo",
        &["20", "50"],
        &["echo: 1000 round trips ok (20 clients x 50)"],
    );
}

#[test]
fn http_hello_answers_requests() {
    check_lines(
        "http_hello",
        &["--selftest"],
        &["selftest: 100 requests answered"],
    );
}
