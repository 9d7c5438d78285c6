//! `Select`: the dynamic form of `select!`, with arms added at run time (Go's `reflect.Select`).
//!
//! Arms stay registered across calls, so one `Select` can serve a loop: a receive arm can fire
//! again, a send arm fires once and is then disabled (like a nil channel). The received value
//! of the chosen arm is taken with [`Select::take_recv`].

use crate::select::{selectgo, Arm, NilArm, RecvArm, SelectChan, SendArm};
use std::any::TypeId;
use std::time::Duration;

enum Kind {
    Recv(TypeId),
    Send,
}

struct Entry<'a> {
    arm: Box<dyn Arm + 'a>,
    kind: Kind,
    /// Disabled by `disable` (or a spent send arm): takes part as a nil channel.
    disabled: bool,
}

/// A select over a list of arms built at run time. See the module docs.
///
/// ```
/// gort::run(|| {
///     let chans: Vec<gort::Chan<usize>> = (0..4).map(|_| gort::chan(1)).collect();
///     chans[2].send(20);
///     let mut sel = gort::Select::new();
///     let ids: Vec<usize> = chans.iter().map(|c| sel.recv(c)).collect();
///     let i = sel.select();
///     assert_eq!(i, ids[2]);
///     assert_eq!(sel.take_recv::<usize>(i), Some(20));
/// });
/// ```
#[derive(Default)]
pub struct Select<'a> {
    arms: Vec<Entry<'a>>,
    pollorder: Vec<u16>,
    lockorder: Vec<u16>,
}

impl std::fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Select({} arms)", self.arms.len())
    }
}

/// The chosen arm's outcome was already taken, or the index is not a receive arm of type `T`.
fn bad_take(i: usize) -> ! {
    panic!("Select::take_recv({i}): arm {i} is not a receive arm of that element type")
}

/// The arms as selectgo sees them: disabled and spent arms replaced by nil arms.
fn arm_refs<'s>(
    arms: &'s mut [Entry<'_>],
    nils: &'s mut [NilArm],
    extra: usize,
) -> Vec<&'s mut dyn Arm> {
    let mut refs: Vec<&'s mut dyn Arm> = Vec::with_capacity(arms.len() + extra);
    for (e, nil) in arms.iter_mut().zip(nils.iter_mut()) {
        if e.disabled || e.arm.spent() {
            refs.push(nil);
        } else {
            refs.push(&mut *e.arm);
        }
    }
    refs
}

impl<'a> Select<'a> {
    /// An empty select (with no arms, `select` blocks forever, as Go's `select {}`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sel = gort::Select::new();
    /// assert!(sel.is_empty());
    /// assert_eq!(sel.try_select(), None); // no arm can be ready
    /// ```
    pub fn new() -> Select<'a> {
        Select {
            arms: Vec::new(),
            pollorder: Vec::new(),
            lockorder: Vec::new(),
        }
    }

    fn push(&mut self, arm: Box<dyn Arm + 'a>, kind: Kind) -> usize {
        self.arms.push(Entry {
            arm,
            kind,
            disabled: false,
        });
        self.pollorder.push(0);
        self.lockorder.push(0);
        self.arms.len() - 1
    }

    /// Adds a receive arm; returns its index.
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<&str>(1);
    ///     let (_tx, rx) = c.clone().split();
    ///     let mut sel = gort::Select::new();
    ///     let i = sel.recv(&rx); // a Chan, a Receiver, or a reference to one
    ///     c.send("ready");
    ///     assert_eq!(sel.select(), i);
    ///     assert_eq!(sel.take_recv::<&str>(i), Some("ready"));
    /// });
    /// ```
    pub fn recv<T: Send + 'static, C: SelectChan<T> + ?Sized>(&mut self, c: &'a C) -> usize {
        self.push(Box::new(RecvArm::new(c)), Kind::Recv(TypeId::of::<T>()))
    }

    /// Adds a send arm for `v`; returns its index. After it fires it is disabled.
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(1);
    ///     let mut sel = gort::Select::new();
    ///     let i = sel.send(&c, 5);
    ///     assert_eq!(sel.select(), i);
    ///     assert_eq!(sel.try_select(), None); // the send arm is spent: no arm is left
    ///     assert_eq!(c.recv(), Some(5));
    /// });
    /// ```
    pub fn send<T: Send + 'static, C: SelectChan<T> + ?Sized>(&mut self, c: &'a C, v: T) -> usize {
        self.push(Box::new(SendArm::new(c, v)), Kind::Send)
    }

    #[track_caller]
    fn run(&mut self, block: bool) -> Option<usize> {
        let mut nils: Vec<NilArm> = (0..self.arms.len()).map(|_| NilArm).collect();
        let mut refs = arm_refs(&mut self.arms, &mut nils, 0);
        let r = selectgo(&mut refs, &mut self.pollorder, &mut self.lockorder, block);
        if let Some(i) = r {
            refs[i].fire();
        }
        r
    }

    /// Waits until an arm is ready and performs it; returns its index.
    ///
    /// # Panics
    /// "send on closed channel" if the chosen send arm's channel is closed; outside a
    /// goroutine if it must wait.
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(0);
    ///     let tx = c.clone();
    ///     gort::go(move || tx.send(42));
    ///     let mut sel = gort::Select::new();
    ///     let i = sel.recv(&c);
    ///     assert_eq!(sel.select(), i); // parks until the goroutine sends
    ///     assert_eq!(sel.take_recv::<i32>(i), Some(42));
    /// });
    /// ```
    #[track_caller]
    pub fn select(&mut self) -> usize {
        self.run(true).expect("a blocking select returns an arm")
    }

    /// Performs a ready arm if there is one (Go's select with `default`).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gort::chan::<i32>(1);
    /// let mut sel = gort::Select::new();
    /// let i = sel.recv(&c);
    /// assert_eq!(sel.try_select(), None); // nothing ready: Go's `default` case
    /// c.try_send(1).unwrap();
    /// assert_eq!(sel.try_select(), Some(i));
    /// assert_eq!(sel.take_recv::<i32>(i), Some(1));
    /// ```
    pub fn try_select(&mut self) -> Option<usize> {
        self.run(false)
    }

    /// As `select`, but gives up after `timeout` and returns `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(1);
    ///     let mut sel = gort::Select::new();
    ///     let i = sel.recv(&c);
    ///     assert_eq!(sel.select_timeout(Duration::from_millis(1)), None); // nothing was sent
    ///     c.send(1);
    ///     assert_eq!(sel.select_timeout(Duration::from_millis(1)), Some(i));
    ///     assert_eq!(sel.take_recv::<i32>(i), Some(1));
    /// });
    /// ```
    #[track_caller]
    pub fn select_timeout(&mut self, timeout: Duration) -> Option<usize> {
        if let Some(i) = self.try_select() {
            return Some(i);
        }
        let timer = crate::chan::<()>(1);
        let tx = timer.clone();
        let handle = gort_runtime::time::after_call(
            timeout,
            Box::new(move || {
                let _ = tx.try_send(());
            }),
        );
        let mut tarm = RecvArm::new(&timer);
        let n = self.arms.len();
        let mut nils: Vec<NilArm> = (0..n).map(|_| NilArm).collect();
        let mut refs = arm_refs(&mut self.arms, &mut nils, 1);
        refs.push(&mut tarm);
        self.pollorder.push(0);
        self.lockorder.push(0);
        let i = selectgo(&mut refs, &mut self.pollorder, &mut self.lockorder, true)
            .expect("a blocking select returns an arm");
        if i < n {
            refs[i].fire();
        }
        drop(refs);
        self.pollorder.pop();
        self.lockorder.pop();
        handle.stop();
        (i < n).then_some(i)
    }

    /// Takes the value received by arm `i` after it was chosen: `Some(v)`, or `None` if the
    /// channel was closed.
    ///
    /// # Panics
    /// If arm `i` is not a receive arm of element type `T`, or was not the chosen arm.
    ///
    /// # Examples
    ///
    /// ```
    /// gort::run(|| {
    ///     let c = gort::chan::<i32>(1);
    ///     let mut sel = gort::Select::new();
    ///     let i = sel.recv(&c);
    ///     c.send(1);
    ///     c.close();
    ///     assert_eq!(sel.select(), i);
    ///     assert_eq!(sel.take_recv::<i32>(i), Some(1));
    ///     assert_eq!(sel.select(), i); // the arm stays registered
    ///     assert_eq!(sel.take_recv::<i32>(i), None); // closed and drained: Go's `ok == false`
    /// });
    /// ```
    pub fn take_recv<T: Send + 'static>(&mut self, i: usize) -> Option<T> {
        let e = self.arms.get_mut(i).unwrap_or_else(|| bad_take(i));
        match e.kind {
            Kind::Recv(t) if t == TypeId::of::<T>() => {}
            _ => bad_take(i),
        }
        let p = &mut *e.arm as *mut dyn Arm as *mut RecvArm<'a, T>;
        // SAFETY: the arm at `i` was created by `recv::<T>` (checked through its TypeId), so
        // the trait object's data pointer is a `RecvArm<'a, T>`.
        let arm = unsafe { &mut *p };
        arm.take()
            .unwrap_or_else(|| panic!("Select::take_recv({i}): arm {i} was not chosen"))
    }

    /// Whether arm `i` is a send arm that has sent its value (and is now disabled).
    ///
    /// # Examples
    ///
    /// ```
    /// let roomy = gort::chan::<i32>(1);
    /// let full = gort::chan::<i32>(0); // unbuffered, no receiver
    /// let mut sel = gort::Select::new();
    /// let (a, b) = (sel.send(&roomy, 1), sel.send(&full, 2));
    /// assert_eq!(sel.try_select(), Some(a));
    /// assert!(sel.is_sent(a));
    /// assert!(!sel.is_sent(b));
    /// ```
    pub fn is_sent(&self, i: usize) -> bool {
        self.arms
            .get(i)
            .is_some_and(|e| matches!(e.kind, Kind::Send) && e.arm.spent())
    }

    /// Disables arm `i`: it behaves as a nil channel from now on (Go's idiom of setting a
    /// case's channel to nil once it is closed).
    ///
    /// # Examples
    ///
    /// Merging two channels until both are closed:
    ///
    /// ```
    /// gort::run(|| {
    ///     let (a, b) = (gort::chan::<i32>(1), gort::chan::<i32>(1));
    ///     a.send(1);
    ///     a.close();
    ///     b.close();
    ///     let mut sel = gort::Select::new();
    ///     sel.recv(&a);
    ///     sel.recv(&b);
    ///     let (mut open, mut got) = (2, Vec::new());
    ///     while open > 0 {
    ///         let i = sel.select();
    ///         match sel.take_recv::<i32>(i) {
    ///             Some(v) => got.push(v),
    ///             None => {
    ///                 sel.disable(i); // closed: never choose this arm again
    ///                 open -= 1;
    ///             }
    ///         }
    ///     }
    ///     assert_eq!(got, [1]);
    /// });
    /// ```
    pub fn disable(&mut self, i: usize) {
        self.arms[i].disabled = true;
    }

    /// Number of arms.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gort::chan::<i32>(0);
    /// let mut sel = gort::Select::new();
    /// sel.recv(&c);
    /// sel.send(&c, 1);
    /// assert_eq!(sel.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.arms.len()
    }

    /// Whether there are no arms.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gort::chan::<i32>(0);
    /// let mut sel = gort::Select::new();
    /// assert!(sel.is_empty());
    /// sel.recv(&c);
    /// assert!(!sel.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.arms.is_empty()
    }
}
