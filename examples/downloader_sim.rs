//! A concurrent downloader with a context timeout, after the seed notes' "Day 4" challenges 1
//! and 3 (並行ダウンローダー). Fetches are simulated with timers (no network yet): each URL has
//! a latency, some never answer, one answers with an error, one fails twice before it works.
//!
//! 1. `parallel_download`: one goroutine per URL, at most 3 fetching at once (a weighted
//!    `Semaphore`, where Go uses `sem := make(chan struct{}, maxConcurrent)`), all under one
//!    `context::with_timeout`. Fetches that outlive the deadline fail with "context deadline
//!    exceeded"; the others succeed.
//! 2. All-or-nothing with `errgroup`: the first failure cancels the group's context, which
//!    stops the fetches still running, and `wait` returns that first error.
//! 3. Retry with back-off (Go's `downloadWithRetry`): waits between attempts in a `select!`
//!    on a timer and the context, so cancellation also interrupts the back-off.
//!
//! The program checks its own results and exits with status 1 if one is wrong. The checked
//! lines do not depend on timing: fast fetches take milliseconds against deadlines hundreds of
//! times longer, and slow ones take an hour.

use gort::context::{self, Context};
use gort::sync::errgroup::Group;
use gort::sync::{Mutex, Semaphore, WaitGroup};
use gort::time::after;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Go: `DownloadResult`.
#[derive(Clone, Debug)]
struct Download {
    url: String,
    result: Result<usize, String>,
    took: Duration,
}

/// The fake server: how each URL behaves.
fn latency(url: &str) -> Duration {
    if url.contains("slow") {
        Duration::from_secs(3600)
    } else {
        // 1 to 5 ms, from the name, so runs are repeatable.
        Duration::from_millis(1 + url.len() as u64 % 5)
    }
}

/// Go: `download(ctx, url)`: "downloads" `url`, or gives up when `ctx` is done.
fn fetch(ctx: &Context, url: &str) -> Result<usize, String> {
    gort::select! {
        recv(after(latency(url))) -> _ => {},
        recv(ctx.done()) -> _ => return Err(ctx.err().expect("done").to_string()),
    }
    if url.contains("broken") {
        return Err("HTTP 404 Not Found".to_string());
    }
    Ok(url.len() * 1024)
}

/// Go: `parallelDownload(urls, maxConcurrent)`, with the semaphore's acquire also bounded by
/// the context.
fn parallel_download(
    urls: &[&str],
    max_concurrent: u64,
    timeout: Duration,
) -> (Vec<Download>, usize) {
    let (ctx, cancel) = context::with_timeout(&context::background(), timeout);
    let sem = Arc::new(Semaphore::new(max_concurrent));
    let results = Arc::new(Mutex::new(vec![None; urls.len()]));
    let (active, max_active) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let wg = Arc::new(WaitGroup::new());
    for (i, url) in urls.iter().enumerate() {
        let (ctx, sem, results, url) = (ctx.clone(), sem.clone(), results.clone(), url.to_string());
        let (active, max_active) = (active.clone(), max_active.clone());
        wg.go(move || {
            let start = Instant::now();
            let result = match sem.acquire(&ctx, 1) {
                Ok(()) => {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    max_active.fetch_max(now, Ordering::SeqCst);
                    let r = fetch(&ctx, &url);
                    active.fetch_sub(1, Ordering::SeqCst);
                    sem.release(1);
                    r
                }
                Err(e) => Err(e.to_string()),
            };
            results.lock()[i] = Some(Download {
                url,
                result,
                took: start.elapsed(),
            });
        });
    }
    wg.wait();
    cancel.cancel(); // Go: defer cancel()
    let results = results
        .lock()
        .iter()
        .map(|r| r.clone().expect("every goroutine reports"))
        .collect();
    (results, max_active.load(Ordering::SeqCst))
}

/// All-or-nothing: every URL must succeed; the first failure cancels the rest.
fn download_all(urls: &[&str]) -> (Result<usize, String>, Vec<Download>) {
    let (g, ctx) = Group::<String>::with_context(&context::background());
    g.set_limit(Some(3));
    let total = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    for url in urls {
        let (ctx, total, log, url) = (ctx.clone(), total.clone(), log.clone(), url.to_string());
        g.go(move || {
            let start = Instant::now();
            let result = fetch(&ctx, &url);
            log.lock().push(Download {
                url: url.clone(),
                result: result.clone(),
                took: start.elapsed(),
            });
            let size = result.map_err(|e| format!("{url}: {e}"))?;
            total.fetch_add(size, Ordering::SeqCst);
            Ok(())
        });
    }
    let r = g.wait().map(|()| total.load(Ordering::SeqCst));
    let log = log.lock().clone();
    (r, log)
}

/// Go: `downloadWithRetry`: up to `retries` more attempts, waiting `backoff * attempt` between
/// them unless the context ends first. `attempt_fails(n)` makes attempt `n` fail.
fn fetch_with_retry(
    ctx: &Context,
    url: &str,
    retries: u32,
    backoff: Duration,
    attempt_fails: impl Fn(u32) -> bool,
) -> (Result<usize, String>, u32) {
    let mut last = String::new();
    for attempt in 0..=retries {
        if attempt > 0 {
            gort::select! {
                recv(after(backoff * attempt)) -> _ => {},
                recv(ctx.done()) -> _ => return (Err(ctx.err().expect("done").to_string()), attempt),
            }
        }
        let r = if attempt_fails(attempt) {
            Err("connection reset by peer".to_string())
        } else {
            fetch(ctx, url)
        };
        match r {
            Ok(n) => return (Ok(n), attempt + 1),
            Err(e) => {
                println!("retry {}/{retries}: {url} ({e})", attempt + 1);
                last = e;
            }
        }
    }
    (Err(last), retries + 1)
}

fn show(d: &Download) -> String {
    match &d.result {
        Ok(n) => format!("{}: {n} bytes", d.url),
        Err(e) => format!("{}: {e}", d.url),
    }
}

fn main() {
    let ok = gort::run(|| {
        let mut ok = true;
        let mut check = |what: &str, good: bool| {
            if !good {
                eprintln!("downloader_sim: self-check failed: {what}");
                ok = false;
            }
        };

        // 1. Parallel, bounded, with a deadline.
        let urls = [
            "https://example.com/file1.zip",
            "https://example.com/slow1.zip",
            "https://example.com/file2.zip",
            "https://example.com/file3.zip",
            "https://example.com/slow2.zip",
            "https://example.com/file4.zip",
            "https://example.com/file5.zip",
        ];
        let started = Instant::now();
        let (results, max_active) = parallel_download(&urls, 3, Duration::from_millis(300));
        for d in &results {
            println!("{}", show(d));
        }
        println!("at most 3 fetching at once: {}", max_active <= 3);
        println!(
            "(parallel download: {:.0}ms, slowest success {:.1}ms)",
            started.elapsed().as_secs_f64() * 1e3,
            results
                .iter()
                .filter(|d| d.result.is_ok())
                .map(|d| d.took.as_secs_f64() * 1e3)
                .fold(0.0, f64::max)
        );
        let good = results.iter().all(|d| {
            if d.url.contains("slow") {
                d.result.as_ref().err().map(String::as_str) == Some("context deadline exceeded")
            } else {
                d.result == Ok(d.url.len() * 1024)
            }
        });
        check("parallel results", good && max_active <= 3);

        // 2. All or nothing.
        let (r, log) = download_all(&[
            "https://example.com/broken.zip",
            "https://example.com/slow3.zip",
            "https://example.com/file6.zip",
            "https://example.com/file7.zip",
            "https://example.com/file8.zip",
        ]);
        println!("errgroup: wait returned {r:?}");
        let slow = log.iter().find(|d| d.url.contains("slow3")).map(show);
        println!(
            "errgroup: {}",
            slow.as_deref().unwrap_or("slow3.zip never started")
        );
        let stopped = log
            .iter()
            .filter(|d| d.result.as_ref().err().map(String::as_str) == Some("context canceled"))
            .count();
        println!("(errgroup: {stopped} fetches stopped by the cancel)");
        check(
            "errgroup",
            r == Err("https://example.com/broken.zip: HTTP 404 Not Found".to_string())
                && slow.as_deref() == Some("https://example.com/slow3.zip: context canceled"),
        );

        // 3. Retry with back-off: the first two attempts fail.
        let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(10));
        let url = "https://example.com/flaky.zip";
        let (r, attempts) = fetch_with_retry(&ctx, url, 3, Duration::from_millis(1), |n| n < 2);
        println!("{url}: {r:?} after {attempts} attempts");
        check("retry", r == Ok(url.len() * 1024) && attempts == 3);
        // A back-off is interrupted by cancellation.
        cancel.cancel();
        let (r, _) = fetch_with_retry(&ctx, url, 3, Duration::from_secs(3600), |_| true);
        println!("{url} with a cancelled context: {r:?}");
        check("retry cancelled", r == Err("context canceled".to_string()));
        ok
    });
    if !ok {
        std::process::exit(1);
    }
}
