//! A worker pool with graceful shutdown and panic recovery, after the seed notes' "Day 4"
//! production-ready `TaskProcessor`: N workers take tasks from a bounded queue, a panicking
//! task is recovered (`catch_unwind`, Go's `defer recover()`) and reported as a failure
//! without killing its worker, `submit` refuses work when the queue is full or the pool is
//! shutting down, a reporter goroutine prints statistics periodically, and `shutdown(timeout)`
//! closes the queue, lets the workers drain it, and cancels the pool's context to force the
//! stragglers out if the timeout passes first. `shutdown` runs once (`Once`).
//!
//! Two runs: one that shuts down gracefully (20 tasks, three of which panic and one fails),
//! and one whose tasks take an hour, so the timeout forces them out through the context.
//! Tasks are simulated with timers; no real work is done.
//!
//! The program checks its own results and exits with status 1 if one is wrong. The checked
//! lines do not depend on timing.

use gort::context::{self, CancelFunc, Context};
use gort::sync::{Mutex, Once, RwMutex, WaitGroup};
use gort::time::after;
use gort::{Chan, TrySendError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Go: the `Task` interface.
trait Task: Send {
    fn id(&self) -> String;
    /// Does the work; must return early with the context's error once `ctx` is done.
    fn execute(&self, ctx: &Context) -> Result<(), String>;
}

/// Go: `SimpleTask`: waits `duration` (or until cancelled). Some panic, some fail.
struct SimpleTask {
    id: usize,
    duration: Duration,
    panics: bool,
    fails: bool,
}

impl Task for SimpleTask {
    fn id(&self) -> String {
        format!("task-{}", self.id)
    }

    fn execute(&self, ctx: &Context) -> Result<(), String> {
        if self.panics {
            panic!("task-{}: index out of range", self.id);
        }
        gort::select! {
            recv(after(self.duration)) -> _ => {},
            recv(ctx.done()) -> _ => return Err(ctx.err().expect("done").to_string()),
        }
        if self.fails {
            return Err("bad input".to_string());
        }
        Ok(())
    }
}

/// Go: `Result`.
struct TaskResult {
    task_id: String,
    error: Option<String>,
}

/// Go: `Statistics`, plus a panic counter.
#[derive(Default)]
struct Stats {
    total: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    active_workers: AtomicU64,
}

/// Go: `TaskProcessor`.
struct TaskProcessor {
    workers: usize,
    queue: Chan<Box<dyn Task>>,
    results: Chan<TaskResult>,
    stats: Stats,
    wg: Arc<WaitGroup>,
    ctx: Context,
    cancel: CancelFunc,
    /// False once shutdown has begun; `submit` holds the read lock while sending, so the
    /// queue is never closed under a submitter (Go would panic: send on closed channel).
    accepting: RwMutex<bool>,
    shutdown_once: Once,
    shutdown_result: Mutex<Option<Result<(), String>>>,
}

impl TaskProcessor {
    /// Go: `NewTaskProcessor(workers, queueSize)`.
    fn new(workers: usize, queue_size: usize) -> Arc<TaskProcessor> {
        let (ctx, cancel) = context::with_cancel(&context::background());
        Arc::new(TaskProcessor {
            workers,
            queue: gort::chan(queue_size),
            results: gort::chan(queue_size),
            stats: Stats::default(),
            wg: Arc::new(WaitGroup::new()),
            ctx,
            cancel,
            accepting: RwMutex::new(true),
            shutdown_once: Once::new(),
            shutdown_result: Mutex::new(None),
        })
    }

    /// Go: `Start`: the workers and the statistics reporter.
    fn start(self: &Arc<Self>, report_every: Duration) {
        for id in 0..self.workers {
            let tp = self.clone();
            self.wg.go(move || tp.worker(id));
        }
        let tp = self.clone();
        drop(gort::go(move || tp.stats_reporter(report_every)));
    }

    /// Go: `worker`: takes tasks until the queue is closed and drained, or the context ends.
    fn worker(&self, _id: usize) {
        self.stats.active_workers.fetch_add(1, Ordering::SeqCst);
        loop {
            gort::select! {
                recv(self.queue) -> task => match task {
                    Some(task) => self.process(task),
                    None => break, // closed and drained: graceful exit
                },
                recv(self.ctx.done()) -> _ => break, // forced exit
            }
        }
        self.stats.active_workers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Go: `processTask`, including its `defer func() { if r := recover() ... }()`.
    fn process(&self, task: Box<dyn Task>) {
        let outcome = catch_unwind(AssertUnwindSafe(|| task.execute(&self.ctx)));
        let error = match outcome {
            Ok(Ok(())) => {
                self.stats.completed.fetch_add(1, Ordering::SeqCst);
                None
            }
            Ok(Err(e)) => {
                self.stats.failed.fetch_add(1, Ordering::SeqCst);
                Some(e)
            }
            Err(panic) => {
                self.stats.failed.fetch_add(1, Ordering::SeqCst);
                self.stats.panicked.fetch_add(1, Ordering::SeqCst);
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Some(format!("panic: {msg}"))
            }
        };
        let result = TaskResult {
            task_id: task.id(),
            error,
        };
        // Results are buffered; wait for room only while the pool is not being torn down.
        if let Err(TrySendError::Full(result)) = self.results.try_send(result) {
            gort::select! {
                send(self.results, result) => {},
                recv(self.ctx.done()) -> _ => {},
            }
        }
    }

    /// Go: `Submit`: never blocks.
    fn submit(&self, task: Box<dyn Task>) -> Result<(), String> {
        let accepting = self.accepting.read();
        if !*accepting {
            return Err("processor is shutting down".to_string());
        }
        self.stats.total.fetch_add(1, Ordering::SeqCst);
        gort::select! {
            send(self.queue, task) => Ok(()),
            recv(self.ctx.done()) -> _ => Err("processor is shutting down".to_string()),
            default => Err("queue is full".to_string()),
        }
    }

    /// Go: `Shutdown(timeout)`: stop accepting, close the queue, wait for the workers to
    /// drain it; past the timeout, cancel the context and wait for them to notice. Runs once;
    /// later calls return the first call's result.
    fn shutdown(&self, timeout: Duration) -> Result<(), String> {
        self.shutdown_once.call_once(|| {
            *self.accepting.write() = false;
            self.queue.close();
            let done = gort::chan::<()>(0);
            let (wg, results, d) = (self.wg.clone(), self.results.clone(), done.clone());
            drop(gort::go(move || {
                wg.wait();
                results.close();
                d.close();
            }));
            let r = gort::select! {
                recv(done) -> _ => Ok(()),
                recv(after(timeout)) -> _ => {
                    self.cancel.cancel(); // force the stragglers out
                    done.recv();
                    Err("shutdown timeout".to_string())
                },
            };
            self.cancel.cancel(); // stops the reporter
            *self.shutdown_result.lock() = Some(r);
        });
        self.shutdown_result
            .lock()
            .clone()
            .expect("set by the first call")
    }

    /// Go: `statsReporter`: prints the counters every period until the context ends.
    fn stats_reporter(&self, every: Duration) {
        loop {
            gort::select! {
                recv(after(every)) -> _ => {
                    let (total, completed, failed, active) = self.snapshot();
                    println!("stats: total {total}, completed {completed}, failed {failed}, active workers {active}");
                },
                recv(self.ctx.done()) -> _ => return,
            }
        }
    }

    fn snapshot(&self) -> (u64, u64, u64, u64) {
        let s = &self.stats;
        (
            s.total.load(Ordering::SeqCst),
            s.completed.load(Ordering::SeqCst),
            s.failed.load(Ordering::SeqCst),
            s.active_workers.load(Ordering::SeqCst),
        )
    }
}

/// Drains the results channel on its own goroutine (Go: the `for result := range` goroutine).
fn collect(tp: &TaskProcessor) -> gort::JoinHandle<Vec<TaskResult>> {
    let results = tp.results.clone();
    gort::go(move || results.iter().collect())
}

fn main() {
    let ok = gort::run(|| {
        let mut ok = true;
        let mut check = |what: &str, good: bool| {
            if !good {
                eprintln!("graceful_pool: self-check failed: {what}");
                ok = false;
            }
        };
        // The recovered panics are reported as results; keep the default hook's message off
        // stderr for them (and only for them).
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info.payload().downcast_ref::<String>();
            if !msg.is_some_and(|m| m.ends_with("index out of range")) {
                default_hook(info);
            }
        }));

        // 1. Graceful: 4 workers drain 20 short tasks.
        let tp = TaskProcessor::new(4, 32);
        tp.start(Duration::from_millis(2));
        let collector = collect(&tp);
        for i in 0..20 {
            let task = SimpleTask {
                id: i,
                duration: Duration::from_millis(1 + (i % 5) as u64),
                panics: i % 7 == 0,
                fails: i == 10,
            };
            if let Err(e) = tp.submit(Box::new(task)) {
                check(&format!("submit task-{i}: {e}"), false);
            }
        }
        let started = Instant::now();
        let r = tp.shutdown(Duration::from_secs(10));
        println!("graceful shutdown: {r:?}");
        check("graceful shutdown", r.is_ok());
        let results = collector.join().unwrap();
        let mut panics: Vec<&str> = results
            .iter()
            .filter(|r| r.error.as_deref().is_some_and(|e| e.starts_with("panic:")))
            .map(|r| r.task_id.as_str())
            .collect();
        panics.sort_unstable();
        println!("recovered panics: {panics:?}");
        let (total, completed, failed, active) = tp.snapshot();
        println!(
            "final: total {total}, completed {completed}, failed {failed}, active workers {active}"
        );
        println!(
            "({} results in {:.1}ms)",
            results.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        check("every task reported", results.len() == 20);
        check(
            "counts",
            (total, completed, failed, active) == (20, 16, 4, 0),
        );
        check("panics", panics == ["task-0", "task-14", "task-7"]);
        let late = tp.submit(Box::new(SimpleTask {
            id: 99,
            duration: Duration::ZERO,
            panics: false,
            fails: false,
        }));
        println!("submit after shutdown: {late:?}");
        check("refused after shutdown", late.is_err());
        check(
            "shutdown is idempotent",
            tp.shutdown(Duration::ZERO).is_ok(),
        );

        // 2. Forced: two workers stuck in hour-long tasks; the timeout cancels them.
        let tp = TaskProcessor::new(2, 8);
        tp.start(Duration::from_secs(3600));
        let collector = collect(&tp);
        for i in 0..2 {
            let task = SimpleTask {
                id: i,
                duration: Duration::from_secs(3600),
                panics: false,
                fails: false,
            };
            tp.submit(Box::new(task)).expect("queue has room");
        }
        // Both tasks are running once no task is queued.
        while !tp.queue.is_empty() {
            gort::time::sleep(Duration::from_millis(1));
        }
        let r = tp.shutdown(Duration::from_millis(20));
        println!("forced shutdown: {r:?}");
        check(
            "forced shutdown times out",
            r == Err("shutdown timeout".to_string()),
        );
        let results = collector.join().unwrap();
        let cancelled = results
            .iter()
            .filter(|r| r.error.as_deref() == Some("context canceled"))
            .count();
        let (_, completed, failed, active) = tp.snapshot();
        println!("forced: running tasks stopped by the context: {cancelled}, completed {completed}, failed {failed}, active workers {active}");
        check(
            "forced counts",
            (cancelled, completed, failed, active) == (2, 0, 2, 0),
        );
        ok
    });
    if !ok {
        std::process::exit(1);
    }
}
