//! The driver: builds the Go twins, runs every measurement in its own process (Rust systems
//! through this binary's `worker` mode), repeats and interleaves them, and hands the medians
//! to the report.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::golang::Go;
use crate::machine;
use crate::report;
use crate::sys_std::MAX_THREADS;
use crate::workload::{support, Params, Support, System, Workload};

/// What one invocation runs, from the command line.
#[derive(Clone, Debug)]
pub struct Config {
    pub quick: bool,
    pub out: PathBuf,
    pub runs: usize,
    pub scaling_runs: usize,
    pub procs: Vec<usize>,
    pub workloads: Vec<Workload>,
    pub systems: Vec<System>,
    pub scaling: bool,
    pub timeout: Duration,
    pub command: String,
}

/// This package's directory.
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The gort repository (two levels up from this package).
pub fn repo_root() -> PathBuf {
    let p = package_dir().join("../..");
    p.canonicalize().unwrap_or(p)
}

impl Config {
    pub fn parse(args: &[String]) -> Result<Config, String> {
        let mut quick = false;
        let mut out = None;
        let mut runs = None;
        let mut scaling_runs = None;
        let mut procs = vec![1, 2];
        let mut workloads = Workload::ALL.to_vec();
        let mut systems = System::ALL.to_vec();
        let mut scaling = true;
        let mut timeout = None;
        let mut command = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{a} needs a value"))
            };
            let num = |v: String| {
                v.parse::<usize>()
                    .map_err(|_| format!("{a}: not a number: {v}"))
            };
            match a.as_str() {
                "--quick" => quick = true,
                "--out" => out = Some(PathBuf::from(value()?)),
                "--runs" => runs = Some(num(value()?)?.max(1)),
                "--scaling-runs" => scaling_runs = Some(num(value()?)?.max(1)),
                "--procs" => {
                    procs = value()?
                        .split(',')
                        .map(|p| p.parse().map_err(|_| format!("--procs: bad value {p}")))
                        .collect::<Result<_, _>>()?;
                    if procs.contains(&0) {
                        return Err("--procs: 0 is not a worker count".into());
                    }
                }
                "--only" => {
                    workloads = value()?
                        .split(',')
                        .map(|w| {
                            Workload::from_id(w).ok_or_else(|| format!("unknown workload {w}"))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--systems" => {
                    systems = value()?
                        .split(',')
                        .map(|s| System::from_id(s).ok_or_else(|| format!("unknown system {s}")))
                        .collect::<Result<_, _>>()?;
                    if !systems.contains(&System::Go) {
                        // Every ratio is against Go.
                        systems.insert(0, System::Go);
                    }
                }
                "--no-scaling" => scaling = false,
                "--timeout" => timeout = Some(Duration::from_secs(num(value()?)? as u64)),
                "--command" => command = Some(value()?),
                "-h" | "--help" => return Err("help".into()),
                _ => return Err(format!("unknown argument {a}")),
            }
        }
        systems.sort();
        systems.dedup();
        let out = out.unwrap_or_else(|| {
            if quick {
                package_dir().join("target/quick/comparison.md")
            } else {
                repo_root().join("docs/comparison.md")
            }
        });
        let command = command.unwrap_or_else(|| {
            let mut c = vec!["cargo run --release --".to_string()];
            c.extend(args.iter().cloned());
            format!("cd benches/compare && {}", c.join(" "))
        });
        Ok(Config {
            quick,
            out,
            runs: runs.unwrap_or(if quick { 1 } else { 5 }),
            scaling_runs: scaling_runs.unwrap_or(if quick { 1 } else { 3 }),
            procs,
            workloads,
            systems,
            scaling,
            timeout: timeout.unwrap_or(Duration::from_secs(if quick { 30 } else { 60 })),
            command,
        })
    }

    /// Goroutine counts of the scaling runs.
    pub fn scaling_counts(&self) -> Vec<u64> {
        if self.quick {
            vec![1_000, 3_000, 10_000]
        } else {
            vec![1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000]
        }
    }

    /// GOMAXPROCS of the scaling runs: the largest of `procs`.
    pub fn scaling_procs(&self) -> usize {
        self.procs.iter().copied().max().unwrap_or(2)
    }
}

/// The counts one run of `w` on `system` uses. Per-op figures do not depend on the count
/// once it is large enough; std threads get smaller counts where a thread hand-off costs
/// microseconds, and may's select (a coroutine per arm per call) fewer messages.
pub fn params(w: Workload, system: System, quick: bool) -> Params {
    let q = |full: u64, quick_n: u64| if quick { quick_n } else { full };
    let std = system == System::Std;
    let (n, m) = match w {
        Workload::SpawnJoin if std => (q(20_000, 2_000), 0),
        Workload::SpawnJoin => (q(200_000, 20_000), 0),
        Workload::PingPong if std => (q(20_000, 2_000), 0),
        Workload::PingPong => (q(200_000, 20_000), 0),
        Workload::Spsc => (q(2_000_000, 200_000), 0),
        Workload::Mpmc => (q(1_000_000, 100_000), 0),
        Workload::SelectFanIn if system == System::May => (q(100_000, 10_000), 0),
        Workload::SelectFanIn => (q(1_000_000, 100_000), 0),
        Workload::Sieve => (1, 0),
        Workload::Pipeline if std => (q(20_000, 2_000), 0),
        Workload::Pipeline => (q(200_000, 20_000), 0),
        Workload::Yield if std => (q(200_000, 20_000), 0),
        Workload::Yield => (q(1_000_000, 100_000), 0),
        Workload::Mutex => (q(1_000_000, 100_000), 0),
        Workload::Sleepers => (q(100_000, 10_000), 10),
        Workload::TcpEcho => (q(100, 20), q(1_000, 200)),
        Workload::Park => (q(100_000, 10_000), 0),
    };
    Params { n, m }
}

/// Metrics of one run, by name.
pub type Sample = Vec<(String, f64)>;

/// Everything measured for one (workload, procs, system) or one scaling point.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub samples: Vec<Sample>,
    /// Set when a run failed; later runs of the same cell are skipped.
    pub failure: Option<String>,
    pub params: Option<Params>,
}

impl Cell {
    /// The median of metric `key` over the runs, if any run gave it.
    pub fn median(&self, key: &str) -> Option<f64> {
        let mut v: Vec<f64> = self
            .samples
            .iter()
            .filter_map(|s| s.iter().find(|(k, _)| k == key).map(|(_, v)| *v))
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        Some(if v.len() % 2 == 1 {
            v[m]
        } else {
            (v[m - 1] + v[m]) / 2.0
        })
    }
}

/// All results, for the report.
pub struct Results {
    pub cfg: Config,
    pub cells: BTreeMap<(Workload, usize, System), Cell>,
    pub scaling: BTreeMap<(u64, System), Cell>,
    pub scaling_skipped: BTreeMap<(u64, System), String>,
    pub env: report::Env,
}

pub fn run(cfg: Config) {
    let started = Instant::now();
    let load_start = machine::loadavg();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let root = repo_root();
    let pkg = package_dir();
    let stamp = Command::new("date")
        .args(["-u", "+%Y%m%dT%H%M%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "run".into());
    let log_dir = pkg.join("target/compare").join(&stamp);
    std::fs::create_dir_all(&log_dir).expect("create the log directory");

    let go = match Go::setup(&root, &pkg, &pkg.join("target/go-bin")) {
        Ok(go) => go,
        Err(e) => {
            eprintln!("gort-compare: setting up Go failed: {e}");
            std::process::exit(1);
        }
    };
    let me = std::env::current_exe().expect("current_exe");
    let runner = Runner {
        go: &go,
        me: &me,
        timeout: cfg.timeout,
        log_dir: &log_dir,
    };
    // A million parked tasks take seconds to spawn and tear down: three times the limit.
    let scaling_runner = Runner {
        timeout: cfg.timeout * 3,
        ..runner
    };

    // The table's cells. Systems alternate within each repetition (in an order that rotates
    // from one repetition to the next), so drifting load on the machine hits all of them.
    let mut cells: BTreeMap<(Workload, usize, System), Cell> = BTreeMap::new();
    let total: usize = cfg.workloads.len() * cfg.procs.len() * cfg.runs * cfg.systems.len();
    let mut done = 0;
    for &w in &cfg.workloads {
        for &procs in &cfg.procs {
            for rep in 0..cfg.runs {
                let k = cfg.systems.len();
                for i in 0..k {
                    let system = cfg.systems[(i + rep) % k];
                    done += 1;
                    if let Support::NotAvailable(_) = support(system, w) {
                        continue;
                    }
                    let cell = cells.entry((w, procs, system)).or_default();
                    if cell.failure.is_some() {
                        continue;
                    }
                    let p = params(w, system, cfg.quick);
                    cell.params = Some(p);
                    let tag = format!(
                        "{w} procs={procs} {} run {}/{}",
                        system.id(),
                        rep + 1,
                        cfg.runs
                    );
                    match runner.measure(system, w, procs, p, &tag) {
                        Ok(s) => {
                            eprintln!("[{done}/{total}] {tag}: {}", show(&s));
                            cell.samples.push(s);
                        }
                        Err(e) => {
                            eprintln!(
                                "[{done}/{total}] {tag}: FAILED: {}",
                                e.lines().next().unwrap_or("")
                            );
                            cell.failure = Some(e);
                        }
                    }
                }
            }
        }
    }

    // The scaling runs: the park workload from 1,000 to 1,000,000 tasks.
    let mut scaling: BTreeMap<(u64, System), Cell> = BTreeMap::new();
    let mut scaling_skipped: BTreeMap<(u64, System), String> = BTreeMap::new();
    if cfg.scaling {
        let procs = cfg.scaling_procs();
        let counts = cfg.scaling_counts();
        let mut failed: BTreeMap<System, u64> = BTreeMap::new();
        for &n in &counts {
            for rep in 0..cfg.scaling_runs {
                for &system in &cfg.systems {
                    if system == System::Std && n > MAX_THREADS {
                        scaling_skipped.insert(
                            (n, system),
                            format!("skipped: more than {MAX_THREADS} threads"),
                        );
                        continue;
                    }
                    if let Some(&at) = failed.get(&system) {
                        if at < n {
                            scaling_skipped.insert(
                                (n, system),
                                format!("skipped: failed at {}", report::thousands(at as f64)),
                            );
                            continue;
                        }
                    }
                    let cell = scaling.entry((n, system)).or_default();
                    if cell.failure.is_some() {
                        continue;
                    }
                    let p = Params { n, m: 0 };
                    cell.params = Some(p);
                    let tag = format!(
                        "scaling park n={n} procs={procs} {} run {}/{}",
                        system.id(),
                        rep + 1,
                        cfg.scaling_runs
                    );
                    match scaling_runner.measure(system, Workload::Park, procs, p, &tag) {
                        Ok(s) => {
                            eprintln!("{tag}: {}", show(&s));
                            cell.samples.push(s);
                        }
                        Err(e) => {
                            eprintln!("{tag}: FAILED: {}", e.lines().next().unwrap_or(""));
                            cell.failure = Some(e);
                            failed.insert(system, n);
                        }
                    }
                }
            }
        }
    }

    let env = report::Env {
        date,
        duration: started.elapsed(),
        load_start,
        load_end: machine::loadavg(),
        nproc: machine::nproc(),
        cpu: machine::cpu_model(),
        kernel: machine::kernel(),
        memory: machine::memory(),
        max_map_count: machine::max_map_count(),
        threads_max: machine::threads_max(),
        nproc_limit: machine::nproc_limit(),
        rustc: machine::rustc(),
        go: go.version(),
        may: machine::locked_version(&pkg, "may"),
        tokio: machine::locked_version(&pkg, "tokio"),
        async_channel: machine::locked_version(&pkg, "async-channel"),
        git: machine::git_state(&root),
    };
    let results = Results {
        cfg,
        cells,
        scaling,
        scaling_skipped,
        env,
    };
    save_raw(&results, &log_dir.join("results.tsv"));
    match report::write(&results) {
        Ok(paths) => {
            for p in paths {
                eprintln!("==> wrote {}", p.display());
            }
            eprintln!(
                "==> {:.1} min in all; raw logs in {}",
                results.env.duration.as_secs_f64() / 60.0,
                log_dir.display()
            );
        }
        Err(e) => {
            eprintln!("gort-compare: writing the report failed: {e}");
            std::process::exit(1);
        }
    }
}

/// Every run's metrics, one line each: `workload procs system run metric value` (scaling
/// runs as `park@N`), for anyone who wants more than the medians.
fn save_raw(r: &Results, path: &Path) {
    let mut out = String::from("workload\tprocs\tsystem\trun\tmetric\tvalue\n");
    let mut add = |w: String, procs: usize, s: System, c: &Cell| {
        for (i, sample) in c.samples.iter().enumerate() {
            for (k, v) in sample {
                out.push_str(&format!("{w}\t{procs}\t{}\t{}\t{k}\t{v}\n", s.id(), i + 1));
            }
        }
        if let Some(f) = &c.failure {
            let first = f.lines().next().unwrap_or("");
            out.push_str(&format!("{w}\t{procs}\t{}\t-\tfailed\t{first}\n", s.id()));
        }
    };
    for ((w, procs, s), c) in &r.cells {
        add(w.id().to_string(), *procs, *s, c);
    }
    for ((n, s), c) in &r.scaling {
        add(format!("park@{n}"), r.cfg.scaling_procs(), *s, c);
    }
    if let Err(e) = std::fs::write(path, out) {
        eprintln!("gort-compare: {}: {e}", path.display());
    } else {
        eprintln!("==> every run's figures: {}", path.display());
    }
}

fn show(s: &Sample) -> String {
    s.iter()
        .map(|(k, v)| format!("{k}={v:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts measurements, each in its own process.
struct Runner<'a> {
    go: &'a Go,
    me: &'a Path,
    timeout: Duration,
    log_dir: &'a Path,
}

impl Runner<'_> {
    fn measure(
        &self,
        system: System,
        w: Workload,
        procs: usize,
        p: Params,
        tag: &str,
    ) -> Result<Sample, String> {
        let mut cmd = if system == System::Go {
            self.go.command(w, p)
        } else {
            let mut c = Command::new(self.me);
            c.args(["worker", system.id(), w.id()])
                .arg(procs.to_string())
                .arg(p.n.to_string())
                .arg(p.m.to_string());
            c
        };
        // GOMAXPROCS for Go (and gort, whose Builder sets the same value anyway).
        cmd.env("GOMAXPROCS", procs.to_string())
            .env("GOTOOLCHAIN", "local")
            .env_remove("GODEBUG")
            .env_remove("GORT_TRACE")
            .env_remove("GORT_STACK_SIZE");
        let (status, stdout, stderr) =
            run_bounded(cmd, self.timeout).inspect_err(|e| self.keep_log(tag, "", e))?;
        let fail = |why: String| {
            self.keep_log(tag, &stdout, &stderr);
            Err(format!("{why}\n{}", tail(&stderr, 12)))
        };
        if !status.success() {
            return fail(format!("exited with {status}: {}", explain(&stderr)));
        }
        let sample = if system == System::Go {
            crate::golang::parse(w, p, &stdout)
        } else {
            let s: Sample = stdout
                .lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    if f.next()? != "metric" {
                        return None;
                    }
                    Some((f.next()?.to_string(), f.next()?.parse().ok()?))
                })
                .collect();
            if s.is_empty() {
                Err(format!("no metric lines in the output:\n{stdout}"))
            } else {
                Ok(s)
            }
        };
        match sample {
            Ok(s) => Ok(s),
            Err(e) => fail(e),
        }
    }

    fn keep_log(&self, tag: &str, stdout: &str, stderr: &str) {
        let name: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let _ = std::fs::write(
            self.log_dir.join(format!("{name}.log")),
            format!("--- stdout\n{stdout}\n--- stderr\n{stderr}\n"),
        );
    }
}

/// A one-line reason for a failed run, from what it printed.
fn explain(stderr: &str) -> String {
    if stderr.contains("failed to alloc sys stack") {
        let maps = machine::max_map_count()
            .map(|m| m.to_string())
            .unwrap_or_else(|| "?".into());
        return format!(
            "may could not map a coroutine stack (mmap: ENOMEM); every may stack is its own \
             mapping plus a guard page, two of the process's vm.max_map_count = {maps} mappings"
        );
    }
    if stderr.contains("timed out after") {
        return stderr.lines().next().unwrap_or("timed out").to_string();
    }
    stderr
        .lines()
        .find(|l| {
            l.contains("panicked at") || l.contains("fatal error") || l.contains("check failed")
        })
        .unwrap_or_else(|| stderr.lines().next().unwrap_or("no output"))
        .trim()
        .to_string()
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs `cmd` to completion or for at most `timeout`, killing it then. Returns the exit
/// status and what it printed.
fn run_bounded(
    mut cmd: Command,
    timeout: Duration,
) -> Result<(std::process::ExitStatus, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(child.stdout.take().expect("piped stdout")));
    let err = read(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if start.elapsed() > timeout {
            // Only this child, by its own id.
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err.join().unwrap_or_default();
            return Err(format!(
                "timed out after {} s (killed)\n{}",
                timeout.as_secs(),
                tail(&stderr, 12)
            ));
        }
        #[allow(
            clippy::disallowed_methods,
            reason = "the driver is a plain thread polling its child, not a goroutine"
        )]
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok((
        status,
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    ))
}
