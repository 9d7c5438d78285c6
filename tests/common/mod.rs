//! Shared helpers for gort's integration tests: run a body under several GOMAXPROCS values, and
//! run a scenario in a child process to check how the process ends (exit status, stderr).

#![allow(dead_code)]

use std::process::{Command, Output};

/// The GOMAXPROCS values every concurrency test runs under.
pub const PROCS: [usize; 3] = [1, 2, 4];

/// Runs `f` as the main goroutine of a runtime with `procs` Ps.
pub fn run_with<F, R>(procs: usize, f: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    gort::Builder::new().max_procs(procs).run(f)
}

/// Runs `f` under every value in `PROCS`.
pub fn for_each_procs<F>(f: F)
where
    F: Fn() + Send + Sync + Clone + 'static,
{
    for p in PROCS {
        let f = f.clone();
        run_with(p, f);
    }
}

/// Env var that tells a re-executed test binary which scenario to run.
pub const SCENARIO: &str = "GORT_TEST_SCENARIO";

/// If this process is a child started by `spawn_scenario(name)`, runs `f` and exits 0.
pub fn scenario(name: &str, f: impl FnOnce()) {
    if std::env::var(SCENARIO).as_deref() == Ok(name) {
        f();
        std::process::exit(0);
    }
}

/// Re-executes this test binary running only `test` with scenario `name` set.
pub fn spawn_scenario(test: &str, name: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, name);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("spawn test child")
}

/// Asserts that a scenario child exited with status 0 and printed `marker` on stdout, showing
/// both of its outputs otherwise; returns its stdout.
pub fn expect_scenario_ok(o: &Output, marker: &str) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && out.contains(marker),
        "status {:?} (want success and {marker:?} on stdout)\nstdout:\n{out}\nstderr:\n{err}",
        o.status
    );
    out
}

/// The message of a caught panic payload (`&str` or `String`).
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
