//! Go's time package, the parts that park goroutines: `sleep`, `after`, `tick`, `Timer`,
//! `Ticker` and `after_func`.
//!
//! Timers are run by the runtime (see `gort_runtime::time`); a goroutine waiting for one is
//! parked, never its OS thread. Durations are `std::time::Duration`, times `std::time::Instant`.

use crate::{chan, Chan};
use std::time::{Duration, Instant};

/// Parks the calling goroutine for at least `d`. A zero duration returns at once.
///
/// # Panics
/// Outside a goroutine (for a non-zero duration).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// gort::run(|| {
///     let sleeper = gort::go(|| {
///         gort::time::sleep(Duration::from_millis(5)); // parks this goroutine only
///         "awake"
///     });
///     gort::time::sleep(Duration::ZERO); // returns at once
///     assert_eq!(sleeper.join().unwrap(), "awake");
/// });
/// ```
#[track_caller]
pub fn sleep(d: Duration) {
    gort_runtime::time::sleep(d)
}

/// A channel that receives the current time once `d` has passed (Go's `time.After`). The
/// channel has a one-value buffer, so the timer never blocks when nobody receives.
///
/// # Panics
/// Outside a goroutine.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// gort::run(|| {
///     let results = gort::chan::<i32>(0); // nobody ever sends
///     let timed_out = gort::select! {
///         recv(results) -> _ => false,
///         recv(gort::time::after(Duration::from_millis(5))) -> _ => true,
///     };
///     assert!(timed_out);
/// });
/// ```
pub fn after(d: Duration) -> Chan<Instant> {
    let c = chan::<Instant>(1);
    let tx = c.clone();
    let _ = gort_runtime::time::after_call(
        d,
        Box::new(move || {
            let _ = tx.try_send(Instant::now());
        }),
    );
    c
}

use gort_runtime::rt::RawLock;
use gort_runtime::time::{TimerHandle, TimerHost};
use std::cell::UnsafeCell;
use std::sync::Arc;

/// What a timer does when it fires.
enum Fire {
    /// Send the time on the channel (Timer, Ticker).
    Chan(Chan<Instant>),
    /// Start a goroutine running the function (`after_func`).
    Func(Arc<dyn Fn() + Send + Sync>),
}

struct State {
    /// Bumped by every stop/reset; a firing with an older number is stale and does nothing.
    seq: u64,
    /// Armed and not yet fired (or a ticker).
    active: bool,
    period: Option<Duration>,
    handle: Option<TimerHandle>,
}

/// State shared by a timer's handle and its pending firing (on the timer thread).
///
/// # Invariants
/// `state` is only touched with `lock` held; the lock is held for a few loads and stores, a
/// non-blocking channel send and arming a timer, never across a park.
struct Shared {
    lock: RawLock,
    state: UnsafeCell<State>,
    fire: Fire,
    host: TimerHost,
}

// SAFETY: `state` is protected by `lock`; `fire` and `host` are shared read-only.
unsafe impl Sync for Shared {}
// SAFETY: as above.
unsafe impl Send for Shared {}

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.lock.lock();
        // SAFETY: the lock is held for the whole use of the reference.
        let r = f(unsafe { &mut *self.state.get() });
        self.lock.unlock();
        r
    }

    /// Arms the timer for `d` from now. The lock must be held (`st` is its state).
    fn arm(self: &Arc<Self>, st: &mut State, d: Duration) {
        st.seq += 1;
        st.active = true;
        let (me, seq) = (self.clone(), st.seq);
        st.handle = Some(self.host.after_call(d, Box::new(move || me.fired(seq))));
    }

    /// Runs on the timer thread when an arming comes due.
    fn fired(self: &Arc<Self>, seq: u64) {
        let run = self.with(|st| {
            if st.seq != seq || !st.active {
                return None; // stopped or reset since
            }
            match &self.fire {
                Fire::Chan(c) => {
                    // A full channel drops the tick, as Go's tickers do.
                    let _ = c.try_send(Instant::now());
                    match st.period {
                        Some(p) => self.arm(st, p),
                        None => st.active = false,
                    }
                    None
                }
                Fire::Func(f) => {
                    st.active = false;
                    Some(f.clone())
                }
            }
        });
        if let Some(f) = run {
            self.host.spawn(Box::new(move || f()));
        }
    }

    /// Disarms; returns whether the timer was active. Go 1.23: a value sent but not yet
    /// received is drained and counts as "still active", so no stale value survives.
    fn stop(&self) -> bool {
        let mut pending = self.with(|st| {
            st.seq += 1;
            if let Some(h) = st.handle.take() {
                h.stop();
            }
            std::mem::replace(&mut st.active, false)
        });
        if let Fire::Chan(c) = &self.fire {
            if c.try_recv().is_ok() {
                pending = true;
            }
        }
        pending
    }
}

fn new_shared(fire: Fire, period: Option<Duration>) -> Arc<Shared> {
    Arc::new(Shared {
        lock: RawLock::new(),
        state: UnsafeCell::new(State {
            seq: 0,
            active: false,
            period,
            handle: None,
        }),
        fire,
        host: TimerHost::current(),
    })
}

/// A single event in the future (Go's `time.Timer`): the time is sent on its channel, or, for
/// [`after_func`], a function runs in its own goroutine. Go 1.23 semantics: after `stop` or
/// `reset` returns, no value from before the call can be received.
///
/// Dropping a `Timer` does not stop it (its channel may be held elsewhere).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use gort::time::Timer;
/// gort::run(|| {
///     let timeout = Timer::new(Duration::from_millis(5));
///     let work = gort::chan::<i32>(0); // nothing arrives in time
///     gort::select! {
///         recv(work) -> _ => unreachable!(),
///         recv(timeout.channel()) -> fired => assert!(fired.is_some()),
///     }
///     assert!(!timeout.stop()); // it has fired already
/// });
/// ```
pub struct Timer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Timer")
    }
}

impl Timer {
    /// A timer that sends the current time on its channel after `d` (Go's `time.NewTimer`).
    ///
    /// # Panics
    /// Outside a goroutine.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// gort::run(|| {
    ///     let t = gort::time::Timer::new(Duration::from_millis(5));
    ///     let fired_at = t.channel().recv().unwrap();
    ///     assert!(fired_at <= Instant::now());
    /// });
    /// ```
    pub fn new(d: Duration) -> Timer {
        let shared = new_shared(Fire::Chan(chan(1)), None);
        shared.with(|st| shared.arm(st, d));
        Timer { shared }
    }

    /// The channel the time arrives on (nil for an `after_func` timer).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// gort::run(|| {
    ///     let t = gort::time::Timer::new(Duration::from_millis(5));
    ///     assert!(t.channel().recv().is_some()); // Go's <-t.C
    ///     let f = gort::time::after_func(Duration::from_secs(3600), || {});
    ///     assert!(f.channel().is_nil()); // a function timer sends nothing
    ///     f.stop();
    /// });
    /// ```
    pub fn channel(&self) -> &Chan<Instant> {
        match &self.shared.fire {
            Fire::Chan(c) => c,
            Fire::Func(_) => nil_instant_chan(),
        }
    }

    /// Stops the timer. Returns true if this call stopped it, false if it had already fired
    /// (and its value was received, or its function started) or been stopped.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use gort::time::Timer;
    /// gort::run(|| {
    ///     let t = Timer::new(Duration::from_secs(3600));
    ///     assert!(t.stop()); // stopped before it fired
    ///     assert!(!t.stop()); // already stopped
    ///     assert!(t.channel().try_recv().is_err()); // and nothing will arrive
    ///     let fired = Timer::new(Duration::from_millis(1));
    ///     fired.channel().recv().unwrap();
    ///     assert!(!fired.stop()); // it fired and its value was received
    /// });
    /// ```
    pub fn stop(&self) -> bool {
        self.shared.stop()
    }

    /// Re-arms the timer for `d` from now; returns whether it was active before (as `stop`).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// gort::run(|| {
    ///     let t = gort::time::Timer::new(Duration::from_secs(3600));
    ///     assert!(t.reset(Duration::from_millis(5))); // it was active
    ///     assert!(t.channel().recv().is_some()); // fires 5 ms after the reset
    ///     assert!(!t.reset(Duration::from_secs(3600))); // it had fired
    ///     assert!(t.stop()); // armed again by the reset
    /// });
    /// ```
    pub fn reset(&self, d: Duration) -> bool {
        let pending = self.shared.stop();
        self.shared.with(|st| self.shared.arm(st, d));
        pending
    }
}

fn nil_instant_chan() -> &'static Chan<Instant> {
    static NIL: Chan<Instant> = Chan::nil();
    &NIL
}

/// Runs `f` in its own goroutine after `d` (Go's `time.AfterFunc`). The returned timer's
/// `stop` prevents the call if it has not started; `reset` schedules it again. Dropping the
/// handle does not cancel it.
///
/// # Panics
/// Outside a goroutine.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// gort::run(|| {
///     let done = gort::chan::<&str>(1);
///     let tx = done.clone();
///     gort::time::after_func(Duration::from_millis(5), move || tx.send("ran"));
///     assert_eq!(done.recv(), Some("ran"));
///     // Stopped before it fires, the function never runs.
///     let t = gort::time::after_func(Duration::from_secs(3600), || unreachable!());
///     assert!(t.stop());
/// });
/// ```
pub fn after_func<F>(d: Duration, f: F) -> Timer
where
    F: Fn() + Send + Sync + 'static,
{
    let shared = new_shared(Fire::Func(Arc::new(f)), None);
    shared.with(|st| shared.arm(st, d));
    Timer { shared }
}

/// Delivers the time on its channel every period (Go's `time.Ticker`); slow receivers miss
/// ticks rather than queue them. Dropping the ticker stops it.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// gort::run(|| {
///     let ticker = gort::time::Ticker::new(Duration::from_millis(2));
///     for _ in 0..3 {
///         assert!(ticker.channel().recv().is_some()); // Go's <-ticker.C
///     }
///     ticker.stop();
/// });
/// ```
pub struct Ticker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticker")
    }
}

impl Ticker {
    /// A ticker with period `d` (Go's `time.NewTicker`).
    ///
    /// # Panics
    /// "non-positive interval for NewTicker" if `d` is zero; outside a goroutine.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// gort::run(|| {
    ///     let t = gort::time::Ticker::new(Duration::from_millis(2));
    ///     let first = t.channel().recv().unwrap();
    ///     let second = t.channel().recv().unwrap();
    ///     assert!(second > first); // each tick carries the time it was sent
    /// });
    /// ```
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "non-positive interval for NewTicker");
        let shared = new_shared(Fire::Chan(chan(1)), Some(d));
        shared.with(|st| shared.arm(st, d));
        Ticker { shared }
    }

    /// The channel ticks arrive on.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// gort::run(|| {
    ///     let t = gort::time::Ticker::new(Duration::from_millis(2));
    ///     let quit = gort::chan::<()>(0); // never closed here
    ///     let ticked = gort::select! {
    ///         recv(t.channel()) -> _ => true,
    ///         recv(quit) -> _ => false,
    ///     };
    ///     assert!(ticked);
    /// });
    /// ```
    pub fn channel(&self) -> &Chan<Instant> {
        match &self.shared.fire {
            Fire::Chan(c) => c,
            Fire::Func(_) => nil_instant_chan(),
        }
    }

    /// Stops the ticker; no tick from before the call can be received after it.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// gort::run(|| {
    ///     let t = gort::time::Ticker::new(Duration::from_millis(1));
    ///     t.channel().recv().unwrap();
    ///     t.stop();
    ///     assert!(t.channel().try_recv().is_err()); // no stale tick, and no new one
    /// });
    /// ```
    pub fn stop(&self) {
        self.shared.stop();
    }

    /// Stops the ticker and restarts it with period `d`.
    ///
    /// # Panics
    /// "non-positive interval for Ticker.Reset" if `d` is zero.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// gort::run(|| {
    ///     let t = gort::time::Ticker::new(Duration::from_secs(3600));
    ///     t.reset(Duration::from_millis(2)); // now every 2 ms
    ///     assert!(t.channel().recv().is_some());
    /// });
    /// ```
    pub fn reset(&self, d: Duration) {
        assert!(!d.is_zero(), "non-positive interval for Ticker.Reset");
        self.shared.stop();
        self.shared.with(|st| {
            st.period = Some(d);
            self.shared.arm(st, d)
        });
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// A channel that receives the time every `d` (Go's `time.Tick`); the ticker is never
/// stopped. A zero duration gives the nil channel, as in Go.
///
/// # Panics
/// Outside a goroutine.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// gort::run(|| {
///     let ticks = gort::time::tick(Duration::from_millis(2));
///     for _ in 0..3 {
///         assert!(ticks.recv().is_some());
///     }
///     assert!(gort::time::tick(Duration::ZERO).is_nil());
/// });
/// ```
pub fn tick(d: Duration) -> Chan<Instant> {
    if d.is_zero() {
        return Chan::nil();
    }
    let t = Ticker::new(d);
    let c = t.channel().clone();
    std::mem::forget(t);
    c
}
