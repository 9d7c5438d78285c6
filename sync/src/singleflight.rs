//! `singleflight::Group`: golang.org/x/sync/singleflight. Concurrent calls with the same key
//! share one execution: the first caller (the leader) runs the function, callers that arrive
//! while it runs wait for it and receive a clone of its result.
//!
//! ```
//! use gort::sync::singleflight::Group;
//!
//! gort::run(|| {
//!     let g = Group::<&str, u64>::new();
//!     let (v, shared) = g.r#do("answer", || 42);
//!     assert_eq!((v, shared), (42, false)); // nobody else asked meanwhile
//! });
//! ```
//!
//! # Protocol
//! - `calls` (a short `RawLock`) maps a key to its in-flight `Call`. A caller that finds one
//!   counts itself in `dups` (or adds its channel to `chans`) and waits on the call's
//!   `WaitGroup`; otherwise it inserts a new `Call` and becomes the leader.
//! - The leader runs the function, stores the result, marks the call done (waking the waiters),
//!   then removes the key, but only if it still maps to this call (`forget` may have replaced
//!   it), and sends the result to the `do_chan` channels (buffered, so never blocking). Go
//!   marks the call done under the group lock; here the wake-up happens unlocked, so a caller
//!   arriving between the two steps joins the finished call and shares its result, which is
//!   what it would have got a moment earlier.
//! - The `dups`/`chans` fields of a call are read and written under `calls`' lock; its result is
//!   written once before `wg.done()` and read only after `wg.wait()` or under the same lock
//!   after the leader removed the key.
//!
//! Panics: if the function panics, the leader resumes the panic; waiting `do` callers panic
//! with "singleflight: the shared call panicked"; `do_chan` channels are closed without a
//! value. (Go re-panics in the waiters too, and crashes the process for `DoChan` callers.)

use crate::locked::Locked;
use crate::WaitGroup;
use gort_chan::{chan, Chan};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// What a [`Group::do_chan`] caller receives (Go's `singleflight.Result`).
///
/// # Examples
///
/// ```
/// use gort::sync::singleflight::{Group, Shared};
///
/// gort::run(|| {
///     let g = Group::<&str, u32>::new();
///     let result = g.do_chan("key", || 1).recv();
///     assert_eq!(result, Some(Shared { val: 1, shared: false }));
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shared<V> {
    /// The function's result.
    pub val: V,
    /// Whether the result was given to more than one caller.
    pub shared: bool,
}

/// Deduplicates concurrent calls by key. `K` identifies a call, `V` is its result, cloned to
/// every caller of that execution (use `Result<T, E>` for fallible work). Cloning the group is
/// cheap and gives a handle to the same group.
///
/// # Examples
///
/// ```
/// use gort::sync::singleflight::{Group, Shared};
///
/// gort::run(|| {
///     let g = Group::<&str, u32>::new();
///     let gate = gort::chan::<()>(0);
///     let held = gate.clone();
///     let first = g.do_chan("user:1", move || { held.recv(); 7 }); // runs, held at the gate
///     let second = g.do_chan("user:1", || unreachable!()); // joins the running call
///     gate.close();
///     assert_eq!(first.recv(), Some(Shared { val: 7, shared: true }));
///     assert_eq!(second.recv(), Some(Shared { val: 7, shared: true }));
/// });
/// ```
pub struct Group<K, V> {
    calls: Arc<Locked<HashMap<K, Arc<Call<V>>>>>,
}

impl<K, V> Clone for Group<K, V> {
    fn clone(&self) -> Self {
        Group {
            calls: self.calls.clone(),
        }
    }
}

struct Call<V> {
    /// Counts 1 while the function runs.
    wg: WaitGroup,
    /// Written once by the leader before `wg.done()`; `None` after a panic.
    result: Locked<Option<V>>,
    /// Protected by the group's `calls` lock.
    extra: Locked<Extra<V>>,
}

struct Extra<V> {
    /// Callers that joined this execution.
    dups: usize,
    /// `do_chan` channels waiting for the result.
    chans: Vec<Chan<Shared<V>>>,
}

impl<K, V> Default for Group<K, V> {
    fn default() -> Self {
        Group {
            calls: Arc::new(Locked::new(HashMap::new())),
        }
    }
}

impl<K, V> fmt::Debug for Group<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.calls.lock().len();
        f.debug_struct("Group").field("in_flight", &n).finish()
    }
}

impl<K, V> Group<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    /// An empty group.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::singleflight::Group;
    ///
    /// gort::run(|| {
    ///     let g: Group<u64, Result<String, String>> = Group::new(); // fallible work
    ///     let (v, _) = g.r#do(1, || Ok(String::from("row 1")));
    ///     assert_eq!(v.as_deref(), Ok("row 1"));
    /// });
    /// ```
    pub fn new() -> Group<K, V> {
        Group::default()
    }

    /// Runs `f` for `key` unless a call for `key` is already running, in which case it waits
    /// for that call and returns a clone of its result (Go's `Do`; `do` is a Rust keyword, so
    /// it is written `g.r#do(key, f)`). Returns the value and whether it was given to more
    /// than one caller.
    ///
    /// # Panics
    /// If `f` panics (the panic is resumed); if the call this one joined panicked
    /// ("singleflight: the shared call panicked"); if it must wait outside a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::singleflight::{Group, Shared};
    ///
    /// gort::run(|| {
    ///     let g = Group::<&str, u32>::new();
    ///     let mut late = None;
    ///     let (v, shared) = g.r#do("config", || {
    ///         // A caller arriving while this runs joins it instead of running again.
    ///         late = Some(g.do_chan("config", || unreachable!()));
    ///         7
    ///     });
    ///     assert_eq!((v, shared), (7, true));
    ///     assert_eq!(late.unwrap().recv(), Some(Shared { val: 7, shared: true }));
    ///     // Not a cache: once the call has returned, the next one runs again.
    ///     assert_eq!(g.r#do("config", || 8), (8, false));
    /// });
    /// ```
    #[track_caller]
    pub fn r#do<F>(&self, key: K, f: F) -> (V, bool)
    where
        F: FnOnce() -> V,
    {
        let call = {
            let mut calls = self.calls.lock();
            if let Some(c) = calls.get(&key) {
                let c = c.clone();
                c.extra.lock().dups += 1;
                drop(calls);
                c.wg.wait();
                let v = c.result.lock().clone();
                match v {
                    Some(v) => return (v, true),
                    None => panic!("singleflight: the shared call panicked"),
                }
            }
            let c = Call::new();
            calls.insert(key.clone(), c.clone());
            c
        };
        let (v, shared) = self.run(&key, &call, f);
        match v {
            Ok(v) => (v, shared),
            Err(p) => resume_unwind(p),
        }
    }

    /// Like `r#do` (Go's `Do`), but returns at once with a channel that will receive the
    /// result; the function runs in a new goroutine if this call leads (Go's `DoChan`). The
    /// caller is registered before this returns. If the function panics the channel is closed
    /// without a value.
    ///
    /// # Panics
    /// Outside a goroutine (when it has to start one).
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::singleflight::{Group, Shared};
    ///
    /// gort::run(|| {
    ///     let g = Group::<&str, u32>::new();
    ///     let ctx = gort::context::background();
    ///     let ch = g.do_chan("answer", || 42); // returns at once; `f` runs in a goroutine
    ///     gort::select! {
    ///         recv(ch) -> r => assert_eq!(r, Some(Shared { val: 42, shared: false })),
    ///         recv(ctx.done()) -> _ => unreachable!(), // a caller can stop waiting on cancel
    ///     }
    /// });
    /// ```
    #[track_caller]
    pub fn do_chan<F>(&self, key: K, f: F) -> Chan<Shared<V>>
    where
        F: FnOnce() -> V + Send + 'static,
    {
        let ch = chan::<Shared<V>>(1);
        let call = {
            let mut calls = self.calls.lock();
            if let Some(c) = calls.get(&key) {
                let mut extra = c.extra.lock();
                extra.dups += 1;
                extra.chans.push(ch.clone());
                return ch;
            }
            let c = Call::new();
            c.extra.lock().chans.push(ch.clone());
            calls.insert(key.clone(), c.clone());
            c
        };
        let g = self.clone();
        drop(gort_runtime::go(move || {
            // The outcome goes to the channels (closed on panic); nothing to resume here.
            let _ = g.run(&key, &call, f);
        }));
        ch
    }

    /// Forgets `key`: a later call for it runs the function again instead of joining the
    /// running one (Go's `Forget`). Callers already waiting still get the running call's
    /// result.
    ///
    /// # Examples
    ///
    /// ```
    /// use gort::sync::singleflight::{Group, Shared};
    ///
    /// gort::run(|| {
    ///     let g = Group::<&str, u32>::new();
    ///     let gate = gort::chan::<()>(0);
    ///     let held = gate.clone();
    ///     let old = g.do_chan("key", move || { held.recv(); 1 }); // still running
    ///     g.forget(&"key");
    ///     let new = g.do_chan("key", || 2); // runs anew instead of joining
    ///     assert_eq!(new.recv(), Some(Shared { val: 2, shared: false }));
    ///     gate.close();
    ///     assert_eq!(old.recv(), Some(Shared { val: 1, shared: false }));
    /// });
    /// ```
    pub fn forget(&self, key: &K) {
        let removed = self.calls.lock().remove(key);
        drop(removed);
    }

    /// The leader's part: runs `f`, publishes the result, unregisters the call, and feeds the
    /// `do_chan` channels. Returns the value (or the panic) and whether it was shared.
    ///
    /// Go: `Group.doCall` (singleflight.go).
    #[allow(clippy::type_complexity)] // a value or a panic payload, plus the shared flag
    fn run<F>(&self, key: &K, call: &Arc<Call<V>>, f: F) -> (std::thread::Result<V>, bool)
    where
        F: FnOnce() -> V,
    {
        let outcome = catch_unwind(AssertUnwindSafe(f));
        *call.result.lock() = outcome.as_ref().ok().cloned();
        call.wg.done();
        let (dups, chans) = {
            let mut calls = self.calls.lock();
            if calls.get(key).is_some_and(|c| Arc::ptr_eq(c, call)) {
                calls.remove(key);
            }
            let mut extra = call.extra.lock();
            (extra.dups, std::mem::take(&mut extra.chans))
        };
        let shared = dups > 0;
        for ch in chans {
            match &outcome {
                Ok(v) => {
                    let _ = ch.try_send(Shared {
                        val: v.clone(),
                        shared,
                    });
                }
                Err(_) => ch.close(),
            }
        }
        (outcome, shared)
    }
}

impl<V> Call<V> {
    fn new() -> Arc<Call<V>> {
        let c = Call {
            wg: WaitGroup::new(),
            result: Locked::new(None),
            extra: Locked::new(Extra {
                dups: 0,
                chans: Vec::new(),
            }),
        };
        c.wg.add(1);
        Arc::new(c)
    }
}
