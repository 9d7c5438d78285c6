//! gort-compare: runs the same concurrency workloads on gort, Go, may, tokio and std threads,
//! each run in its own process, and writes a results page with SVG plots.
//!
//! ```sh
//! benches/compare/run.sh            # the full comparison, written to docs/comparison.md
//! benches/compare/run.sh --quick    # small counts, one run each, written to target/quick/
//! ```
//!
//! The binary is both the driver (the default) and the worker the driver starts for every
//! measurement of a Rust system (`gort-compare worker SYSTEM WORKLOAD PROCS N M`); Go's
//! measurements run Go test binaries and programs built from `benches/go` and `go/`.

mod common;
mod driver;
mod golang;
mod machine;
mod report;
mod svg;
mod sys_gort;
mod sys_may;
mod sys_std;
mod sys_tokio;
mod workload;

use workload::{Params, System, Workload};

const USAGE: &str = "\
usage: gort-compare [OPTIONS]
       gort-compare worker SYSTEM WORKLOAD PROCS N M

Runs every workload on gort, Go, may, tokio and std threads at each GOMAXPROCS / worker
count, takes the median of repeated runs (each in its own process), and writes a markdown
page and SVG plots.

options:
  --quick             small counts, one run of each, scaling only to 10,000
                      (default output: benches/compare/target/quick/comparison.md)
  --out FILE          the markdown page to write (default: docs/comparison.md of the
                      repository); the plots go to img/ beside it
  --runs R            runs of each measurement (default 5; 1 with --quick)
  --scaling-runs R    runs of each scaling point (default 3; 1 with --quick)
  --procs LIST        GOMAXPROCS / worker threads, comma-separated (default 1,2)
  --only LIST         only these workloads, comma-separated ids
  --systems LIST      only these systems (go,gort,may,tokio,std)
  --no-scaling        skip the scaling runs (1,000 to 1,000,000 parked tasks)
  --timeout SECS      limit for one run (default 60, 30 with --quick; three times
                      that for a scaling run)
  --command TEXT      the command to print on the page (run.sh passes its own)
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("worker") {
        worker(&args[1..]);
        return;
    }
    match driver::Config::parse(&args) {
        Ok(cfg) => driver::run(cfg),
        Err(e) => {
            eprintln!("gort-compare: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
}

/// One measurement in this process: `SYSTEM WORKLOAD PROCS N M`. Prints `metric` lines.
fn worker(args: &[String]) {
    let bad = || -> ! {
        eprintln!("usage: gort-compare worker SYSTEM WORKLOAD PROCS N M");
        std::process::exit(2)
    };
    if args.len() != 5 {
        bad();
    }
    let system = System::from_id(&args[0]).unwrap_or_else(|| bad());
    let w = Workload::from_id(&args[1]).unwrap_or_else(|| bad());
    let num = |s: &String| s.parse::<u64>().unwrap_or_else(|_| bad());
    let procs = num(&args[2]) as usize;
    let p = Params {
        n: num(&args[3]),
        m: num(&args[4]),
    };
    match system {
        System::Gort => sys_gort::run(w, procs, p),
        System::May => sys_may::run(w, procs, p),
        System::Tokio => sys_tokio::run(w, procs, p),
        System::Std => sys_std::run(w, procs, p),
        System::Go => bad(),
    }
    // The echo servers (and may's coroutines) may still be running: leave at once.
    use std::io::Write;
    std::io::stdout().flush().ok();
    std::process::exit(0);
}
