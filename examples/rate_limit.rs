//! Rate limiting with token buckets, after the "Rate Limiting" chapter of the seed notes on
//! *Concurrency in Go* (the `APIConnection` example with `golang.org/x/time/rate` and a
//! `multiLimiter`).
//!
//! A `Limiter` is a token bucket: a buffered channel holding up to `burst` tokens, refilled by
//! a ticker-like goroutine that sleeps one interval per token (`gort::time::after` in a
//! `select!` that also watches the limiter's own context, so dropping the limiter stops it).
//! `wait(ctx)` takes a token or gives up when `ctx` is done, like `rate.Limiter.Wait`.
//! A `MultiLimiter` waits on several limiters, most restrictive first.
//!
//! Time is scaled down so the program runs in well under a second: one "second" of the seed
//! is 5 ms here, one "minute" 300 ms. The API connection allows 2 calls per "second" (burst 2)
//! and 10 per "minute" (burst 10); file reads also take a disk token, address lookups a
//! network token. 20 calls therefore need 10 tokens beyond the minute bucket's burst, and the
//! program checks that they took at least 10 of its intervals: a lower bound that holds however
//! slow the machine is, because a token never arrives early. It also checks that a call whose
//! context expires while it waits for a token fails with "context deadline exceeded".
//!
//! Exits with status 1 if a check fails.

use gort::context::{self, CancelFunc, Context, ContextError};
use gort::sync::WaitGroup;
use gort::time::after;
use gort::Chan;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One "second" of the seed's program.
const SECOND: Duration = Duration::from_millis(5);
/// One "minute".
const MINUTE: Duration = Duration::from_millis(300);

/// A token bucket (the part of `rate.Limiter` the seed uses).
struct Limiter {
    tokens: Chan<()>,
    /// Time between two refills.
    every: Duration,
    /// Stops the refill goroutine when the limiter is dropped.
    stop: CancelFunc,
}

impl Limiter {
    /// `n` tokens per `per`, at most `burst` saved up; starts full (as `rate.NewLimiter`).
    fn new(n: u32, per: Duration, burst: usize) -> Limiter {
        let every = per / n;
        let tokens = gort::chan::<()>(burst);
        for _ in 0..burst {
            tokens.send(());
        }
        let (ctx, stop) = context::with_cancel(&context::background());
        let refill = tokens.clone();
        drop(gort::go(move || loop {
            // The ticker: one token per interval; a full bucket drops it (try_send).
            gort::select! {
                recv(after(every)) -> _ => { let _ = refill.try_send(()); },
                recv(ctx.done()) -> _ => return,
            }
        }));
        Limiter {
            tokens,
            every,
            stop,
        }
    }

    /// Tokens per second (`rate.Limit`), for ordering limiters.
    fn limit(&self) -> f64 {
        1.0 / self.every.as_secs_f64()
    }

    /// Go: `Limiter.Wait(ctx)`: parks until a token is available or `ctx` is done.
    fn wait(&self, ctx: &Context) -> Result<(), ContextError> {
        gort::select! {
            recv(self.tokens) -> _ => Ok(()),
            recv(ctx.done()) -> _ => Err(ctx.err().expect("done")),
        }
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Go: `multiLimiter`: waits on every limiter, the most restrictive first.
struct MultiLimiter {
    limiters: Vec<Arc<Limiter>>,
}

impl MultiLimiter {
    /// Go: `MultiLimiter(limiters...)`, sorted by `Limit()`.
    fn new(mut limiters: Vec<Arc<Limiter>>) -> MultiLimiter {
        limiters.sort_by(|a, b| a.limit().total_cmp(&b.limit()));
        MultiLimiter { limiters }
    }

    fn wait(&self, ctx: &Context) -> Result<(), ContextError> {
        self.limiters.iter().try_for_each(|l| l.wait(ctx))
    }
}

/// Go: `APIConnection` with `apiLimit`, `diskLimit` and `networkLimit`.
struct ApiConnection {
    read_file: MultiLimiter,
    resolve_address: MultiLimiter,
    /// Kept to check the bound at the end.
    per_minute: Arc<Limiter>,
}

impl ApiConnection {
    /// Go: `Open()`.
    fn open() -> ApiConnection {
        let per_second = Arc::new(Limiter::new(2, SECOND, 2));
        let per_minute = Arc::new(Limiter::new(10, MINUTE, 10));
        let disk = Arc::new(Limiter::new(1, SECOND, 1));
        let network = Arc::new(Limiter::new(3, SECOND, 3));
        ApiConnection {
            read_file: MultiLimiter::new(vec![per_second.clone(), per_minute.clone(), disk]),
            resolve_address: MultiLimiter::new(vec![per_second, per_minute.clone(), network]),
            per_minute,
        }
    }

    fn read_file(&self, ctx: &Context) -> Result<(), ContextError> {
        self.read_file.wait(ctx)?;
        // Pretend we do work here.
        Ok(())
    }

    fn resolve_address(&self, ctx: &Context) -> Result<(), ContextError> {
        self.resolve_address.wait(ctx)?;
        // Pretend we do work here.
        Ok(())
    }
}

fn main() {
    let ok = gort::run(|| {
        let mut ok = true;
        let mut check = |what: &str, good: bool| {
            if !good {
                eprintln!("rate_limit: self-check failed: {what}");
                ok = false;
            }
        };

        let start = Instant::now();
        let conn = Arc::new(ApiConnection::open());
        let done = Arc::new(AtomicUsize::new(0));
        let wg = Arc::new(WaitGroup::new());
        for i in 0..20 {
            let (conn, done) = (conn.clone(), done.clone());
            wg.go(move || {
                let ctx = context::background();
                let (what, r) = if i % 2 == 0 {
                    ("ReadFile", conn.read_file(&ctx))
                } else {
                    ("ResolveAddress", conn.resolve_address(&ctx))
                };
                match r {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::SeqCst);
                        println!("{:>6.1}ms {what}", start.elapsed().as_secs_f64() * 1e3);
                    }
                    Err(e) => println!("cannot {what}: {e}"),
                }
            });
        }
        wg.wait();
        let took = start.elapsed();
        let n = done.load(Ordering::SeqCst);
        let floor = conn.per_minute.every * 10;
        println!("{n} of 20 calls done");
        println!(
            "took at least 10 refills of the per-minute bucket: {}",
            took >= floor
        );
        println!(
            "({:.0}ms; floor {:.0}ms)",
            took.as_secs_f64() * 1e3,
            floor.as_secs_f64() * 1e3
        );
        check("all calls done", n == 20);
        check("rate respected", took >= floor);

        // A call that cannot get a token before its deadline gives up.
        let hourly = Limiter::new(1, Duration::from_secs(3600), 1);
        let bg = context::background();
        check("burst token", hourly.wait(&bg).is_ok());
        let (ctx, cancel) = context::with_timeout(&bg, Duration::from_millis(5));
        let r = hourly.wait(&ctx);
        cancel.cancel();
        println!(
            "waiting for an hourly token with a 5ms deadline: {}",
            r.unwrap_err()
        );
        check("deadline", r == Err(ContextError::DeadlineExceeded));
        ok
    });
    if !ok {
        std::process::exit(1);
    }
}
