// Copyright 2009 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

//! The programs of Go's `test/chan` directory, ported to gort.
//!
//! Source: <https://github.com/golang/go/tree/master/test/chan>. The programs carry copyright
//! years from 2009 to 2019; the notice above covers all of them.
//!
//! Each program is a module whose comment links its Go source. Its `main` becomes one `#[test]`
//! that runs the body as the main goroutine under GOMAXPROCS 1, 2 and 4, each time on a fresh
//! runtime. Parameters are Go's; where the Go program panics or prints "BUG", the port asserts.
//! Where a port departs from Go (an API gort has in another shape, a check Go cannot express),
//! the module says so. A panic in a detached goroutine ends the process, as in Go.
//!
//! Not ported: `perm.go`, a compile-error test of channel directions (in Rust the types
//! enforce them: a `Sender` has no `recv`, a `Receiver` no `send`).

use gort::runtime::gosched;
use gort::{chan, Chan, Receiver, Sender};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

/// Runs `main` as the main goroutine of a fresh runtime under GOMAXPROCS 1, 2 and 4.
fn run_procs<F>(main: F)
where
    F: Fn() + Send + Sync + Clone + 'static,
{
    for p in [1, 2, 4] {
        gort::Builder::new().max_procs(p).run(main.clone());
    }
}

/// Tests share this lock for reading; `select2`, which measures the process's heap, takes it
/// for writing so that no other test allocates meanwhile.
static HEAP_MEASUREMENT: RwLock<()> = RwLock::new(());

/// `run_procs` for every test but `select2`.
fn for_each_procs<F>(main: F)
where
    F: Fn() + Send + Sync + Clone + 'static,
{
    let _shared = HEAP_MEASUREMENT
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    run_procs(main);
}

/// Go's `go f()`: starts a goroutine and forgets it.
fn go<F: FnOnce() + Send + 'static>(f: F) {
    drop(gort::go(f));
}

/// The send-only view of `c` (Go's `chan<- T`).
fn tx<T: Send>(c: &Chan<T>) -> Sender<T> {
    c.clone().split().0
}

/// The receive-only view of `c` (Go's `<-chan T`).
fn rx<T: Send>(c: &Chan<T>) -> Receiver<T> {
    c.clone().split().1
}

/// Counts live heap bytes, for `select2` (Go reads `runtime.MemStats.Alloc`).
struct CountingAlloc;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments and only adds
// bookkeeping on an atomic counter.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

// https://github.com/golang/go/blob/master/test/chan/doubleselect.go
//
// Two cases of one select must never both run: a sender selects over four channels, four muxes
// forward onto one channel, and the receiver checks for duplicates.
mod doubleselect {
    use super::*;
    use gort::select;
    use std::collections::HashSet;

    /// Go's `-n` flag default.
    const ITERATIONS: i32 = 100_000;

    // Sends a counter to one of four channels. If two cases both ran in one iteration, the same
    // value would be sent on two channels.
    fn sender(n: i32, c1: Sender<i32>, c2: Sender<i32>, c3: Sender<i32>, c4: Sender<i32>) {
        for i in 0..n {
            select! {
                send(c1, i) => {}
                send(c2, i) => {}
                send(c3, i) => {}
                send(c4, i) => {}
            }
        }
        // Go's four deferred closes, which run last-deferred first.
        c4.close();
        c3.close();
        c2.close();
        c1.close();
    }

    // Forwards the values from sender onto another channel.
    fn mux(out: Sender<i32>, inp: Receiver<i32>, done: Sender<bool>) {
        for v in &inp {
            out.send(v);
        }
        done.send(true);
    }

    // Gets the values from the four muxes and checks for duplicates.
    fn recver(inp: Receiver<i32>) -> usize {
        let mut seen = HashSet::new();
        for v in &inp {
            assert!(seen.insert(v), "got duplicate value: {v}");
        }
        seen.len()
    }

    #[test]
    fn main() {
        // Go pins GOMAXPROCS to 2; like every program here, this runs under 1, 2 and 4.
        for_each_procs(|| {
            let c1 = chan::<i32>(0);
            let c2 = chan::<i32>(0);
            let c3 = chan::<i32>(0);
            let c4 = chan::<i32>(0);
            let done = chan::<bool>(0);
            let cmux = chan::<i32>(0);
            let s = (tx(&c1), tx(&c2), tx(&c3), tx(&c4));
            go(move || sender(ITERATIONS, s.0, s.1, s.2, s.3));
            for c in [&c1, &c2, &c3, &c4] {
                let (out, inp, done) = (tx(&cmux), rx(c), tx(&done));
                go(move || mux(out, inp, done));
            }
            {
                let (done, cmux) = (done.clone(), cmux.clone());
                go(move || {
                    done.recv();
                    done.recv();
                    done.recv();
                    done.recv();
                    cmux.close();
                });
            }
            let received = recver(rx(&cmux));
            // Not in Go: no value was lost either.
            assert_eq!(received, ITERATIONS as usize);
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/fifo.go
//
// Channels act as pure FIFOs: a buffered channel, and an unbuffered one read by a daisy chain of
// goroutines that take their turns in order.
mod fifo {
    use super::*;

    const N: i32 = 10;

    fn asynch_fifo() {
        let ch = chan::<i32>(N as usize);
        for i in 0..N {
            ch.send(i);
        }
        for i in 0..N {
            assert_eq!(ch.recv(), Some(i), "bad receive");
        }
    }

    fn chain(ch: Receiver<i32>, val: i32, inp: Receiver<i32>, out: Sender<i32>) {
        inp.recv();
        let got = ch.recv().unwrap_or_default();
        assert_eq!(got, val, "{val}");
        out.send(1);
    }

    // Thread together a daisy chain to read the elements in sequence.
    fn synch_fifo() {
        let ch = chan::<i32>(0);
        let mut inp = chan::<i32>(0);
        let start = inp.clone();
        for i in 0..N {
            let out = chan::<i32>(0);
            let (c, r, o) = (rx(&ch), rx(&inp), tx(&out));
            go(move || chain(c, i, r, o));
            inp = out;
        }
        start.send(0);
        for i in 0..N {
            ch.send(i);
        }
        inp.recv();
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            asynch_fifo();
            synch_fifo();
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/goroutines.go
//
// Make a lot of goroutines, threaded together, and tear them down cleanly.
mod goroutines {
    use super::*;

    fn f(left: Sender<i32>, right: Receiver<i32>) {
        left.send(right.recv().unwrap_or_default());
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            // Go's default (its first argument overrides it).
            let n = 10_000;
            let leftmost = chan::<i32>(0);
            let mut right = leftmost.clone();
            let mut left = leftmost.clone();
            for _ in 0..n {
                right = chan::<i32>(0);
                let (l, r) = (tx(&left), rx(&right));
                go(move || f(l, r));
                left = right.clone();
            }
            let c = tx(&right);
            go(move || c.send(1));
            // Not in Go: the value made it through the whole chain.
            assert_eq!(leftmost.recv(), Some(1));
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/nonblock.go
//
// Channel operations that test for blocking (select with default), on unbuffered and buffered
// channels of several element sizes and types.
//
// Go's `sleep` receives twice from `time.Tick(10µs)`; gort has `time::sleep` (and no `tick`
// yet), so the port sleeps 10µs twice. The retry loops only bound how long the program waits for
// the other goroutine, as in Go; nothing asserts a duration.
mod nonblock {
    use super::*;
    use gort::select;
    use std::fmt::Debug;
    use std::time::Duration;

    // Go's i32receiver, i64receiver, breceiver and sreceiver.
    fn receiver<T: Send + PartialEq + Default>(
        c: Chan<T>,
        strobe: Sender<bool>,
        want: T,
        what: &str,
    ) {
        if c.recv().unwrap_or_default() != want {
            panic!("{what} value");
        }
        strobe.send(true);
    }

    // Go's i32sender, i64sender, bsender and ssender.
    fn sender<T: Send>(c: Chan<T>, strobe: Sender<bool>, v: T) {
        c.send(v);
        strobe.send(true);
    }

    fn sleep() {
        gort::time::sleep(Duration::from_micros(10));
        gort::time::sleep(Duration::from_micros(10));
        gosched();
        gosched();
        gosched();
    }

    const MAX_TRIES: u32 = 10000; // Up to 100ms per test.

    fn nothing_to_receive<T: Send>(c: &Chan<T>, what: &str) {
        select! {
            recv(c) -> _v => panic!("blocked {what}"),
            default => {}
        }
    }

    /// One type's part of Go's main loop: a non-blocking send to a receiving goroutine, then a
    /// non-blocking receive from a sending goroutine. `prefix` is Go's "i32", "i64", "b", "s".
    fn exercise<T>(
        buffer: usize,
        c: &Chan<T>,
        sync: &Chan<bool>,
        to_send: T,
        to_recv: T,
        prefix: &'static str,
    ) where
        T: Send + PartialEq + Default + Clone + Debug + 'static,
    {
        {
            let (c, s, want) = (c.clone(), tx(sync), to_send.clone());
            go(move || receiver(c, s, want, prefix));
        }
        let mut r#try = 0;
        loop {
            select! {
                send(c, to_send.clone()) => break,
                default => {
                    r#try += 1;
                    if r#try > MAX_TRIES {
                        panic!("{prefix}receiver buffer= {buffer}: fail");
                    }
                    sleep();
                }
            }
        }
        sync.recv();

        {
            let (c, s, v) = (c.clone(), tx(sync), to_recv.clone());
            go(move || sender(c, s, v));
        }
        if buffer > 0 {
            sync.recv();
        }
        r#try = 0;
        let got = loop {
            select! {
                recv(c) -> v => break v.unwrap_or_default(),
                default => {
                    r#try += 1;
                    if r#try > MAX_TRIES {
                        panic!("{prefix}sender buffer= {buffer}: fail");
                    }
                    sleep();
                }
            }
        };
        assert_eq!(got, to_recv, "{prefix}sender value");
        if buffer == 0 {
            sync.recv();
        }
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            let sync = chan::<bool>(0);
            for buffer in 0..2 {
                let c32 = chan::<i32>(buffer);
                let c64 = chan::<i64>(buffer);
                let cb = chan::<bool>(buffer);
                let cs = chan::<String>(buffer);

                nothing_to_receive(&c32, "i32sender");
                nothing_to_receive(&c64, "i64sender");
                nothing_to_receive(&cb, "bsender");
                nothing_to_receive(&cs, "ssender");

                exercise(buffer, &c32, &sync, 123, 234, "i32");
                exercise(buffer, &c64, &sync, 123456, 234567, "i64");
                exercise(buffer, &cb, &sync, true, true, "b");
                exercise(
                    buffer,
                    &cs,
                    &sync,
                    "hello".to_string(),
                    "hello again".to_string(),
                    "s",
                );
            }
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/powser1.go
//
// Power series: a power series is a channel along which flow rational coefficients; a
// denominator of zero signifies the end. Original code in Newsqueak by Doug McIlroy; see
// "Squinting at Power Series", https://swtch.com/~rsc/thread/squint.pdf.
//
// Go's globals (`seqno`, `chnameserial`) are atomics here, reset by `init` for each run; `Ones`
// and `Twos` are locals of `main`. A `*dch2` is shared by every generation of `dosplit`, which
// swap its halves, so it is an `Arc<Mutex<[Dch; 2]>>` read at the same points as Go reads it.
// The functions `main` never calls in its testing mode (Go's printing mode, `Monmul`, `Xmul`,
// `Mon`, `Shift`, `Binom`, `Recip`, `Subst`, `eval`, `evaln`, `printn`, and the rational
// `inv` and `sub`) are left out.
// Go's capitalised series constructors get a `_ps` suffix where the lower-case name is taken.
mod powser1 {
    use super::*;
    use gort::select;
    use std::fmt;
    use std::sync::atomic::AtomicI32;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
    struct Rat {
        num: i64, // numerator
        den: i64, // denominator
    }

    /// Go's `pr`.
    impl fmt::Display for Rat {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.den == 1 {
                write!(f, "{}", self.num)
            } else {
                write!(f, "{}/{}", self.num, self.den)
            }
        }
    }

    #[derive(Clone)]
    struct Dch {
        req: Chan<i32>,
        dat: Chan<Rat>,
        #[allow(dead_code)] // Go's `nam` is never read either.
        nam: i32,
    }

    /// Go's `*dch2`.
    type Dch2 = Arc<Mutex<[Dch; 2]>>;

    const CHNAMES: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static CHNAMESERIAL: AtomicI32 = AtomicI32::new(-1);
    static SEQNO: AtomicI32 = AtomicI32::new(0);

    /// Go's `seqno++` followed by a read of `seqno`.
    fn next_seqno() -> i32 {
        SEQNO.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn mkdch() -> Dch {
        let c = CHNAMESERIAL.fetch_add(1, Ordering::Relaxed) % CHNAMES.len() as i32;
        Dch {
            req: chan(0),
            dat: chan(0),
            nam: c,
        }
    }

    fn mkdch2() -> Dch2 {
        Arc::new(Mutex::new([mkdch(), mkdch()]))
    }

    /// Go's `d2[i]`.
    fn at(d2: &Dch2, i: usize) -> Dch {
        d2.lock().unwrap()[i].clone()
    }

    // split reads a single demand channel and replicates its output onto two, which may be read
    // at different rates. A process is created at first demand for a rat and dies after the rat
    // has been sent to both outputs.
    //
    // When multiple generations of split exist, the newest will service requests on one
    // channel, which is always renamed to be out[0]; the oldest will service requests on the
    // other channel, out[1]. All generations but the newest hold queued data that has already
    // been sent to out[0]. When data has finally been sent to out[1], a signal on the
    // release-wait channel tells the next newer generation to begin servicing out[1].
    fn dosplit(inp: Dch, out: Dch2, wait: Chan<i32>) {
        let mut both = false; // do not service both channels

        select! {
            recv(at(&out, 0).req) -> _ => {}
            recv(wait) -> _ => {
                both = true;
                select! {
                    recv(at(&out, 0).req) -> _ => {}
                    recv(at(&out, 1).req) -> _ => out.lock().unwrap().swap(0, 1),
                }
            }
        }

        inp.req.send(next_seqno());
        let release = chan::<i32>(0);
        {
            let (inp, out, release) = (inp.clone(), out.clone(), release.clone());
            go(move || dosplit(inp, out, release));
        }
        let dat = inp.dat.recv().unwrap_or_default();
        at(&out, 0).dat.send(dat);
        if !both {
            wait.recv();
        }
        at(&out, 1).req.recv();
        at(&out, 1).dat.send(dat);
        release.send(0);
    }

    fn split(inp: Dch, out: Dch2) {
        let release = chan::<i32>(0);
        {
            let release = release.clone();
            go(move || dosplit(inp, out, release));
        }
        release.send(0);
    }

    fn put(dat: Rat, out: &Dch) {
        out.req.recv();
        out.dat.send(dat);
    }

    fn get(inp: &Dch) -> Rat {
        inp.req.send(next_seqno());
        inp.dat.recv().unwrap_or_default()
    }

    // Get one rat from each of n demand channels.
    fn getn(inp: &[Dch]) -> Vec<Rat> {
        let mut n = inp.len();
        if n != 2 {
            panic!("bad n in getn");
        }
        let mut req: [Chan<i32>; 2] = [Chan::nil(), Chan::nil()];
        let mut dat: [Chan<Rat>; 2] = [Chan::nil(), Chan::nil()];
        let mut out = vec![Rat::default(); 2];
        for i in 0..n {
            req[i] = inp[i].req.clone();
            dat[i] = Chan::nil();
        }
        n *= 2;
        while n > 0 {
            let seqno = next_seqno();
            select! {
                send(req[0], seqno) => {
                    dat[0] = inp[0].dat.clone();
                    req[0] = Chan::nil();
                }
                send(req[1], seqno) => {
                    dat[1] = inp[1].dat.clone();
                    req[1] = Chan::nil();
                }
                recv(dat[0]) -> it => {
                    out[0] = it.unwrap_or_default();
                    dat[0] = Chan::nil();
                }
                recv(dat[1]) -> it => {
                    out[1] = it.unwrap_or_default();
                    dat[1] = Chan::nil();
                }
            }
            n -= 1;
        }
        out
    }

    // Get one rat from each of 2 demand channels.
    fn get2(in0: &Dch, in1: &Dch) -> Vec<Rat> {
        getn(&[in0.clone(), in1.clone()])
    }

    fn copy(inp: &Dch, out: &Dch) -> ! {
        loop {
            out.req.recv();
            out.dat.send(get(inp));
        }
    }

    fn repeat(dat: Rat, out: &Dch) -> ! {
        loop {
            put(dat, out);
        }
    }

    // Integer gcd; needed for rational arithmetic.
    fn gcd(u: i64, v: i64) -> i64 {
        if u < 0 {
            return gcd(-u, v);
        }
        if u == 0 {
            return v;
        }
        gcd(v % u, u)
    }

    // Make a rational from two ints and from one int.
    fn i2tor(u: i64, v: i64) -> Rat {
        let g = gcd(u, v);
        if v > 0 {
            Rat {
                num: u / g,
                den: v / g,
            }
        } else {
            Rat {
                num: -u / g,
                den: -v / g,
            }
        }
    }

    fn itor(u: i64) -> Rat {
        i2tor(u, 1)
    }

    fn zero() -> Rat {
        itor(0)
    }

    fn one() -> Rat {
        itor(1)
    }

    // End mark and end test.
    fn finis() -> Rat {
        i2tor(1, 0)
    }

    fn end(u: Rat) -> i64 {
        if u.den == 0 {
            1
        } else {
            0
        }
    }

    // Operations on rationals.

    fn add(u: Rat, v: Rat) -> Rat {
        let g = gcd(u.den, v.den);
        i2tor(
            u.num * (v.den / g) + v.num * (u.den / g),
            u.den * (v.den / g),
        )
    }

    fn mul(u: Rat, v: Rat) -> Rat {
        let g1 = gcd(u.num, v.den);
        let g2 = gcd(u.den, v.num);
        Rat {
            num: (u.num / g1) * (v.num / g2),
            den: (u.den / g2) * (v.den / g1),
        }
    }

    fn neg(u: Rat) -> Rat {
        i2tor(-u.num, u.den)
    }

    // Power-series constructors return channels on which power series flow. They start an
    // encapsulated generator that puts the terms of the series on the channel.

    // Make a pair of power series identical to a given power series (Go's Split).
    fn split_ps(u: Dch) -> Dch2 {
        let uu = mkdch2();
        let out = uu.clone();
        go(move || split(u, out));
        uu
    }

    // Add two power series.
    fn add_ps(u: Dch, v: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || loop {
            z.req.recv();
            let uv = get2(&u, &v);
            match end(uv[0]) + 2 * end(uv[1]) {
                0 => z.dat.send(add(uv[0], uv[1])),
                1 => {
                    z.dat.send(uv[1]);
                    copy(&v, &z);
                }
                2 => {
                    z.dat.send(uv[0]);
                    copy(&u, &z);
                }
                3 => z.dat.send(finis()),
                _ => unreachable!(),
            }
        });
        zc
    }

    // Multiply a power series by a constant.
    fn cmul(c: Rat, u: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            let mut done = false;
            while !done {
                z.req.recv();
                let u = get(&u);
                if end(u) != 0 {
                    done = true;
                } else {
                    z.dat.send(mul(c, u));
                }
            }
            z.dat.send(finis());
        });
        zc
    }

    // Subtract.
    fn sub_ps(u: Dch, v: Dch) -> Dch {
        add_ps(u, cmul(neg(one()), v))
    }

    fn rep(c: Rat) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || repeat(c, &z));
        zc
    }

    // Multiply. The algorithm is
    //	let U = u + x*UU
    //	let V = v + x*VV
    //	then UV = u*v + x*(u*VV+v*UU) + x*x*UU*VV
    fn mul_ps(u: Dch, v: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            z.req.recv();
            let uv = get2(&u, &v);
            if end(uv[0]) != 0 || end(uv[1]) != 0 {
                z.dat.send(finis());
            } else {
                z.dat.send(mul(uv[0], uv[1]));
                let uu = split_ps(u);
                let vv = split_ps(v);
                let w = add_ps(cmul(uv[0], at(&vv, 0)), cmul(uv[1], at(&uu, 0)));
                z.req.recv();
                z.dat.send(get(&w));
                copy(&add_ps(w, mul_ps(at(&uu, 1), at(&vv, 1))), &z);
            }
        });
        zc
    }

    // Differentiate.
    fn diff(u: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            z.req.recv();
            let mut u1 = get(&u);
            if end(u1) == 0 {
                let mut done = false;
                let mut i = 1;
                while !done {
                    u1 = get(&u);
                    if end(u1) != 0 {
                        done = true;
                    } else {
                        z.dat.send(mul(itor(i), u1));
                        z.req.recv();
                    }
                    i += 1;
                }
            }
            z.dat.send(finis());
        });
        zc
    }

    // Integrate, with const of integration.
    fn integ(c: Rat, u: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            put(c, &z);
            let mut done = false;
            let mut i = 1;
            while !done {
                z.req.recv();
                let u1 = get(&u);
                if end(u1) != 0 {
                    done = true;
                }
                z.dat.send(mul(i2tor(1, i), u1));
                i += 1;
            }
            z.dat.send(finis());
        });
        zc
    }

    // Exponential of a power series with constant term 0
    // (nonzero constant term would make nonrational coefficients)
    // bug: the constant term is simply ignored
    //	Z = exp(U)
    //	DZ = Z*DU
    //	integrate to get Z
    fn exp(u: Dch) -> Dch {
        let zz = mkdch2();
        split(integ(one(), mul_ps(at(&zz, 0), diff(u))), zz.clone());
        at(&zz, 1)
    }

    // Monomial Substitution: U(c x^n)
    // Each Ui is multiplied by c^i and followed by n-1 zeros
    fn mon_subst(u: Dch, c0: Rat, n: i32) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            let mut c = one();
            loop {
                z.req.recv();
                let u1 = get(&u);
                z.dat.send(mul(u1, c));
                c = mul(c, c0);
                if end(u1) != 0 {
                    z.dat.send(finis());
                    break;
                }
                for _ in 1..n {
                    z.req.recv();
                    z.dat.send(zero());
                }
            }
        });
        zc
    }

    fn init() {
        CHNAMESERIAL.store(-1, Ordering::Relaxed);
        SEQNO.store(0, Ordering::Relaxed);
    }

    fn check(u: &Dch, c: Rat, count: usize, s: &str) {
        for _ in 0..count {
            let r = get(u);
            assert!(r == c, "{s}: got: {r} should get {c}");
        }
    }

    const N: usize = 10;

    fn checka(u: &Dch, a: &[Rat], s: &str) {
        for &ai in &a[..N] {
            check(u, ai, 1, s);
        }
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            init();
            let ones = rep(one());
            let twos = rep(itor(2));

            check(&ones, one(), 5, "Ones");
            check(
                &add_ps(ones.clone(), ones.clone()),
                itor(2),
                0,
                "Add Ones Ones",
            ); // 1 1 1 1 1
            check(
                &add_ps(ones.clone(), twos.clone()),
                itor(3),
                0,
                "Add Ones Twos",
            ); // 3 3 3 3 3
            let mut a = vec![Rat::default(); N];
            let d = diff(ones.clone());
            for (i, ai) in a.iter_mut().enumerate() {
                *ai = itor(i as i64 + 1);
            }
            checka(&d, &a, "Diff"); // 1 2 3 4 5
            let inp = integ(zero(), ones.clone());
            a[0] = zero(); // integration constant
            for (i, ai) in a.iter_mut().enumerate().skip(1) {
                *ai = i2tor(1, i as i64);
            }
            checka(&inp, &a, "Integ"); // 0 1 1/2 1/3 1/4 1/5
            check(&cmul(neg(one()), twos.clone()), itor(-2), 10, "CMul"); // -1 -1 -1 -1 -1
            check(
                &sub_ps(ones.clone(), twos.clone()),
                itor(-1),
                0,
                "Sub Ones Twos",
            ); // -1 -1 -1 -1 -1
            let m = mul_ps(ones.clone(), ones.clone());
            for (i, ai) in a.iter_mut().enumerate() {
                *ai = itor(i as i64 + 1);
            }
            checka(&m, &a, "Mul"); // 1 2 3 4 5
            let e = exp(ones.clone());
            a[0] = itor(1);
            a[1] = itor(1);
            a[2] = i2tor(3, 2);
            a[3] = i2tor(13, 6);
            a[4] = i2tor(73, 24);
            a[5] = i2tor(167, 40);
            a[6] = i2tor(4051, 720);
            a[7] = i2tor(37633, 5040);
            a[8] = i2tor(43817, 4480);
            a[9] = i2tor(4596553, 362880);
            checka(&e, &a, "Exp"); // 1 1 3/2 13/6 73/24
            let at = integ(zero(), mon_subst(ones.clone(), neg(one()), 2));
            let mut c = 1;
            for (i, ai) in a.iter_mut().enumerate() {
                if i % 2 == 0 {
                    *ai = zero();
                } else {
                    *ai = i2tor(c, i as i64);
                    c *= -1;
                }
            }
            checka(&at, &a, "ATan"); // 0 -1 0 -1/3 0 -1/5
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/powser2.go
//
// Like powser1 but with channels of interfaces: the coefficients are `*rat` values sent as an
// `item` interface and recovered with type assertions. Here an item is an `Arc<dyn ItemT>` and a
// `*rat` an `Arc<Rat>`; Go's type assertion `.(*rat)` is `Arc::downcast`, which panics on
// anything else (a nil item included) as Go's does. Go keeps this program less cleaned up than
// powser1 on purpose, to keep it a different test; the port follows it. As in powser1, Go's
// globals are atomics reset by `init`, and the functions never called in testing mode (the
// printing mode, `Monmul`, `Xmul`, `Mon`, `Shift`, `Binom`, `Recip`, `Subst`, `eval`, `Evaln`,
// `Printn`, `Print`, and the rational `inv` and `sub`) are left out.
mod powser2 {
    use super::*;
    use gort::select;
    use std::any::Any;
    use std::sync::atomic::AtomicI32;
    use std::sync::{Arc, Mutex};

    #[derive(Debug)]
    struct Rat {
        num: i64, // numerator
        den: i64, // denominator
    }

    /// Go's `*rat`.
    type RatP = Arc<Rat>;

    /// Go's `item` interface.
    trait ItemT: Send + Sync {
        fn pr(&self) -> String;
        fn eq(&self, c: &Item) -> bool;
        /// The dynamic value, for type assertions.
        fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    }

    type Item = Arc<dyn ItemT>;

    impl ItemT for Rat {
        fn pr(&self) -> String {
            if self.den == 1 {
                format!("{} ", self.num)
            } else {
                format!("{}/{} ", self.num, self.den)
            }
        }

        fn eq(&self, c: &Item) -> bool {
            let c1 = as_rat(c.clone());
            self.num == c1.num && self.den == c1.den
        }

        fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
            self
        }
    }

    /// Go's `it.(*rat)`.
    fn as_rat(it: Item) -> RatP {
        it.into_any()
            .downcast::<Rat>()
            .unwrap_or_else(|_| panic!("interface conversion: item is not *main.rat"))
    }

    /// Go's `it.(*rat)` on an element of `getn`'s result, which starts out as nil items.
    fn nth_rat(uv: &[Option<Item>], i: usize) -> RatP {
        as_rat(
            uv[i]
                .clone()
                .expect("interface conversion: item is nil, not *main.rat"),
        )
    }

    #[derive(Clone)]
    struct Dch {
        req: Chan<i32>,
        dat: Chan<Item>,
        #[allow(dead_code)] // Go's `nam` is never read either.
        nam: i32,
    }

    /// Go's `*dch2`.
    type Dch2 = Arc<Mutex<[Dch; 2]>>;

    const CHNAMES: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static CHNAMESERIAL: AtomicI32 = AtomicI32::new(-1);
    static SEQNO: AtomicI32 = AtomicI32::new(0);

    fn next_seqno() -> i32 {
        SEQNO.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn mkdch() -> Dch {
        let c = CHNAMESERIAL.fetch_add(1, Ordering::Relaxed) % CHNAMES.len() as i32;
        Dch {
            req: chan(0),
            dat: chan(0),
            nam: c,
        }
    }

    fn mkdch2() -> Dch2 {
        Arc::new(Mutex::new([mkdch(), mkdch()]))
    }

    fn at(d2: &Dch2, i: usize) -> Dch {
        d2.lock().unwrap()[i].clone()
    }

    // split reads a single demand channel and replicates its output onto two, which may be read
    // at different rates. (See powser1 for the full comment.)
    fn dosplit(inp: Dch, out: Dch2, wait: Chan<i32>) {
        let mut both = false; // do not service both channels

        select! {
            recv(at(&out, 0).req) -> _ => {}
            recv(wait) -> _ => {
                both = true;
                select! {
                    recv(at(&out, 0).req) -> _ => {}
                    recv(at(&out, 1).req) -> _ => out.lock().unwrap().swap(0, 1),
                }
            }
        }

        inp.req.send(next_seqno());
        let release = chan::<i32>(0);
        {
            let (inp, out, release) = (inp.clone(), out.clone(), release.clone());
            go(move || dosplit(inp, out, release));
        }
        let dat = inp.dat.recv().expect("never closed");
        at(&out, 0).dat.send(dat.clone());
        if !both {
            wait.recv();
        }
        at(&out, 1).req.recv();
        at(&out, 1).dat.send(dat);
        release.send(0);
    }

    fn split(inp: Dch, out: Dch2) {
        let release = chan::<i32>(0);
        {
            let release = release.clone();
            go(move || dosplit(inp, out, release));
        }
        release.send(0);
    }

    fn put(dat: Item, out: &Dch) {
        out.req.recv();
        out.dat.send(dat);
    }

    fn get(inp: &Dch) -> RatP {
        inp.req.send(next_seqno());
        as_rat(inp.dat.recv().expect("never closed"))
    }

    // Get one item from each of n demand channels.
    fn getn(inp: &[Dch]) -> Vec<Option<Item>> {
        let mut n = inp.len();
        if n != 2 {
            panic!("bad n in getn");
        }
        let mut req: Vec<Chan<i32>> = vec![Chan::nil(); 2];
        let mut dat: Vec<Chan<Item>> = vec![Chan::nil(); 2];
        let mut out: Vec<Option<Item>> = vec![None; 2];
        for i in 0..n {
            req[i] = inp[i].req.clone();
            dat[i] = Chan::nil();
        }
        n *= 2;
        while n > 0 {
            let seqno = next_seqno();
            select! {
                send(req[0], seqno) => {
                    dat[0] = inp[0].dat.clone();
                    req[0] = Chan::nil();
                }
                send(req[1], seqno) => {
                    dat[1] = inp[1].dat.clone();
                    req[1] = Chan::nil();
                }
                recv(dat[0]) -> it => {
                    out[0] = it;
                    dat[0] = Chan::nil();
                }
                recv(dat[1]) -> it => {
                    out[1] = it;
                    dat[1] = Chan::nil();
                }
            }
            n -= 1;
        }
        out
    }

    // Get one item from each of 2 demand channels.
    fn get2(in0: &Dch, in1: &Dch) -> Vec<Option<Item>> {
        getn(&[in0.clone(), in1.clone()])
    }

    fn copy(inp: &Dch, out: &Dch) -> ! {
        loop {
            out.req.recv();
            out.dat.send(get(inp));
        }
    }

    fn repeat(dat: Item, out: &Dch) -> ! {
        loop {
            put(dat.clone(), out);
        }
    }

    // Integer gcd; needed for rational arithmetic.
    fn gcd(u: i64, v: i64) -> i64 {
        if u < 0 {
            return gcd(-u, v);
        }
        if u == 0 {
            return v;
        }
        gcd(v % u, u)
    }

    // Make a rational from two ints and from one int.
    fn i2tor(u: i64, v: i64) -> RatP {
        let g = gcd(u, v);
        Arc::new(if v > 0 {
            Rat {
                num: u / g,
                den: v / g,
            }
        } else {
            Rat {
                num: -u / g,
                den: -v / g,
            }
        })
    }

    fn itor(u: i64) -> RatP {
        i2tor(u, 1)
    }

    fn zero() -> RatP {
        itor(0)
    }

    fn one() -> RatP {
        itor(1)
    }

    // End mark and end test.
    fn finis() -> RatP {
        i2tor(1, 0)
    }

    fn end(u: &Rat) -> i64 {
        if u.den == 0 {
            1
        } else {
            0
        }
    }

    // Operations on rationals.

    fn add(u: &Rat, v: &Rat) -> RatP {
        let g = gcd(u.den, v.den);
        i2tor(
            u.num * (v.den / g) + v.num * (u.den / g),
            u.den * (v.den / g),
        )
    }

    fn mul(u: &Rat, v: &Rat) -> RatP {
        let g1 = gcd(u.num, v.den);
        let g2 = gcd(u.den, v.num);
        Arc::new(Rat {
            num: (u.num / g1) * (v.num / g2),
            den: (u.den / g2) * (v.den / g1),
        })
    }

    fn neg(u: &Rat) -> RatP {
        i2tor(-u.num, u.den)
    }

    // Make a pair of power series identical to a given power series (Go's Split).
    fn split_ps(u: Dch) -> Dch2 {
        let uu = mkdch2();
        let out = uu.clone();
        go(move || split(u, out));
        uu
    }

    // Add two power series.
    fn add_ps(u: Dch, v: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || loop {
            z.req.recv();
            let uv = get2(&u, &v);
            match end(&nth_rat(&uv, 0)) + 2 * end(&nth_rat(&uv, 1)) {
                0 => z.dat.send(add(&nth_rat(&uv, 0), &nth_rat(&uv, 1))),
                1 => {
                    z.dat.send(uv[1].clone().expect("nil item"));
                    copy(&v, &z);
                }
                2 => {
                    z.dat.send(uv[0].clone().expect("nil item"));
                    copy(&u, &z);
                }
                3 => z.dat.send(finis()),
                _ => unreachable!(),
            }
        });
        zc
    }

    // Multiply a power series by a constant.
    fn cmul(c: RatP, u: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            let mut done = false;
            while !done {
                z.req.recv();
                let u = get(&u);
                if end(&u) != 0 {
                    done = true;
                } else {
                    z.dat.send(mul(&c, &u));
                }
            }
            z.dat.send(finis());
        });
        zc
    }

    // Subtract.
    fn sub_ps(u: Dch, v: Dch) -> Dch {
        add_ps(u, cmul(neg(&one()), v))
    }

    fn rep(c: RatP) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || repeat(c, &z));
        zc
    }

    // Multiply. The algorithm is
    //	let U = u + x*UU
    //	let V = v + x*VV
    //	then UV = u*v + x*(u*VV+v*UU) + x*x*UU*VV
    fn mul_ps(u: Dch, v: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            z.req.recv();
            let uv = get2(&u, &v);
            if end(&nth_rat(&uv, 0)) != 0 || end(&nth_rat(&uv, 1)) != 0 {
                z.dat.send(finis());
            } else {
                z.dat.send(mul(&nth_rat(&uv, 0), &nth_rat(&uv, 1)));
                let uu = split_ps(u);
                let vv = split_ps(v);
                let w = add_ps(
                    cmul(nth_rat(&uv, 0), at(&vv, 0)),
                    cmul(nth_rat(&uv, 1), at(&uu, 0)),
                );
                z.req.recv();
                z.dat.send(get(&w));
                copy(&add_ps(w, mul_ps(at(&uu, 1), at(&vv, 1))), &z);
            }
        });
        zc
    }

    // Differentiate.
    fn diff(u: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            z.req.recv();
            let mut u1 = get(&u);
            if end(&u1) == 0 {
                let mut done = false;
                let mut i = 1;
                while !done {
                    u1 = get(&u);
                    if end(&u1) != 0 {
                        done = true;
                    } else {
                        z.dat.send(mul(&itor(i), &u1));
                        z.req.recv();
                    }
                    i += 1;
                }
            }
            z.dat.send(finis());
        });
        zc
    }

    // Integrate, with const of integration.
    fn integ(c: RatP, u: Dch) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            put(c, &z);
            let mut done = false;
            let mut i = 1;
            while !done {
                z.req.recv();
                let u1 = get(&u);
                if end(&u1) != 0 {
                    done = true;
                }
                z.dat.send(mul(&i2tor(1, i), &u1));
                i += 1;
            }
            z.dat.send(finis());
        });
        zc
    }

    // Exponential of a power series with constant term 0 (see powser1).
    fn exp(u: Dch) -> Dch {
        let zz = mkdch2();
        split(integ(one(), mul_ps(at(&zz, 0), diff(u))), zz.clone());
        at(&zz, 1)
    }

    // Monomial Substitution: U(c x^n)
    // Each Ui is multiplied by c^i and followed by n-1 zeros
    fn mon_subst(u: Dch, c0: RatP, n: i32) -> Dch {
        let z = mkdch();
        let zc = z.clone();
        go(move || {
            let mut c = one();
            loop {
                z.req.recv();
                let u1 = get(&u);
                z.dat.send(mul(&u1, &c));
                c = mul(&c, &c0);
                if end(&u1) != 0 {
                    z.dat.send(finis());
                    break;
                }
                for _ in 1..n {
                    z.req.recv();
                    z.dat.send(zero());
                }
            }
        });
        zc
    }

    fn init() {
        CHNAMESERIAL.store(-1, Ordering::Relaxed);
        SEQNO.store(0, Ordering::Relaxed);
    }

    fn check(u: &Dch, c: &RatP, count: usize, s: &str) {
        for _ in 0..count {
            let r = get(u);
            let c: Item = c.clone();
            assert!(r.eq(&c), "{s}: got: {}should get {}", r.pr(), c.pr());
        }
    }

    const N: usize = 10;

    fn checka(u: &Dch, a: &[RatP], s: &str) {
        for ai in &a[..N] {
            check(u, ai, 1, s);
        }
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            init();
            let ones = rep(one());
            let twos = rep(itor(2));

            check(&ones, &one(), 5, "Ones");
            check(
                &add_ps(ones.clone(), ones.clone()),
                &itor(2),
                0,
                "Add Ones Ones",
            ); // 1 1 1 1 1
            check(
                &add_ps(ones.clone(), twos.clone()),
                &itor(3),
                0,
                "Add Ones Twos",
            ); // 3 3 3 3 3
            let mut a: Vec<RatP> = (0..N).map(|_| zero()).collect();
            let d = diff(ones.clone());
            for (i, ai) in a.iter_mut().enumerate() {
                *ai = itor(i as i64 + 1);
            }
            checka(&d, &a, "Diff"); // 1 2 3 4 5
            let inp = integ(zero(), ones.clone());
            a[0] = zero(); // integration constant
            for (i, ai) in a.iter_mut().enumerate().skip(1) {
                *ai = i2tor(1, i as i64);
            }
            checka(&inp, &a, "Integ"); // 0 1 1/2 1/3 1/4 1/5
            check(&cmul(neg(&one()), twos.clone()), &itor(-2), 10, "CMul"); // -1 -1 -1 -1 -1
            check(
                &sub_ps(ones.clone(), twos.clone()),
                &itor(-1),
                0,
                "Sub Ones Twos",
            ); // -1 -1 -1 -1 -1
            let m = mul_ps(ones.clone(), ones.clone());
            for (i, ai) in a.iter_mut().enumerate() {
                *ai = itor(i as i64 + 1);
            }
            checka(&m, &a, "Mul"); // 1 2 3 4 5
            let e = exp(ones.clone());
            a[0] = itor(1);
            a[1] = itor(1);
            a[2] = i2tor(3, 2);
            a[3] = i2tor(13, 6);
            a[4] = i2tor(73, 24);
            a[5] = i2tor(167, 40);
            a[6] = i2tor(4051, 720);
            a[7] = i2tor(37633, 5040);
            a[8] = i2tor(43817, 4480);
            a[9] = i2tor(4596553, 362880);
            checka(&e, &a, "Exp"); // 1 1 3/2 13/6 73/24
            let at = integ(zero(), mon_subst(ones.clone(), neg(&one()), 2));
            let mut c = 1;
            for (i, ai) in a.iter_mut().enumerate() {
                if i % 2 == 0 {
                    *ai = zero();
                } else {
                    *ai = i2tor(c, i as i64);
                    c *= -1;
                }
            }
            checka(&at, &a, "ATan"); // 0 -1 0 -1/3 0 -1/5
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select.go
//
// A select's send values are evaluated every time, for nil channels too, and a channel set to
// nil in a case body drops out of the next select.
mod select {
    use super::*;
    use gort::select;
    use std::cell::Cell;

    /// Go's globals `counter` and `shift`.
    #[derive(Default)]
    struct Globals {
        counter: Cell<u32>,
        shift: Cell<u32>,
    }

    fn get_value(g: &Globals) -> u32 {
        g.counter.set(g.counter.get() + 1);
        1 << g.shift.get()
    }

    fn send(g: &Globals, mut a: Chan<u32>, mut b: Chan<u32>) -> i32 {
        let mut i = 0;
        loop {
            select! {
                send(a, get_value(g)) => {
                    i += 1;
                    a = Chan::nil();
                }
                send(b, get_value(g)) => {
                    i += 1;
                    b = Chan::nil();
                }
                default => break,
            }
            g.shift.set(g.shift.get() + 1);
        }
        i
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            let g = Globals::default();
            let a = chan::<u32>(1);
            let b = chan::<u32>(1);
            let v = send(&g, a.clone(), b.clone());
            assert_eq!(v, 2, "Send returned {v} != 2");
            let (av, bv) = (a.recv().unwrap_or_default(), b.recv().unwrap_or_default());
            assert_eq!(av | bv, 3, "bad values {av} {bv}");
            let v = send(&g, a.clone(), Chan::nil());
            assert_eq!(v, 1, "Send returned {v} != 1");
            let counter = g.counter.get();
            assert_eq!(counter, 10, "counter is {counter} != 10");
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select2.go
//
// 100,000 selects must not grow the heap: after a warm-up round, a second round of 100,000
// selects may leave at most 110,000 more live bytes. Go reads `runtime.MemStats.Alloc` after a
// GC; this file's global allocator counts live heap bytes instead, and the test holds the other
// tests off (`HEAP_MEASUREMENT`) while it runs so that only its own allocations count. The
// sender is joined before each measurement, where Go's `runtime.GC()` would collect it.
mod select2 {
    use super::*;
    use gort::select;

    fn sender(c: Sender<i32>, n: i32) {
        for _ in 0..n {
            c.send(1);
        }
    }

    fn receiver(c: &Chan<i32>, dummy: &Chan<i32>, n: i32) {
        for _ in 0..n {
            select! {
                recv(c) -> _ => {
                    // nothing
                }
                recv(dummy) -> _ => panic!("dummy"),
            }
        }
    }

    fn live_bytes() -> usize {
        LIVE_BYTES.load(Ordering::Relaxed)
    }

    #[test]
    fn main() {
        let _exclusive = HEAP_MEASUREMENT
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        run_procs(|| {
            let c = chan::<i32>(0);
            let dummy = chan::<i32>(0);

            // warm up
            let s = tx(&c);
            let h = gort::go(move || sender(s, 100_000));
            receiver(&c, &dummy, 100_000);
            h.join().unwrap();
            let alloc = live_bytes();

            // second time shouldn't increase footprint by much
            let s = tx(&c);
            let h = gort::go(move || sender(s, 100_000));
            receiver(&c, &dummy, 100_000);
            h.join().unwrap();
            let now = live_bytes();

            // Be careful to avoid wraparound.
            assert!(
                !(now > alloc && now - alloc > 110_000),
                "BUG: too much memory for 100,000 selects: {}",
                now - alloc
            );
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select3.go
//
// The semantics of select (and of plain channel operations) for basic empty/non-empty cases:
// whether an operation blocks, or panics.
//
// Go's `testBlock` decides "blocks" when a 0.1 s timer beats the function. The port decides it
// by behaviour instead: the function runs in its own goroutine, and it blocks if that goroutine
// parks in a channel operation (`runtime::stack_dump` shows it waiting in "chan send",
// "chan receive", "select", with or without "(nil chan)"/"(no cases)"), from which nothing can
// wake it since no other goroutine holds its channels. It does not block if it finishes.
// `testPanic` catches the panic with `catch_unwind`, gort's `recover`.
mod select3 {
    use super::*;
    use gort::select;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    const ALWAYS: &str = "function did not";
    const NEVER: &str = "function did";

    /// Go's `var nilch chan int` (every use is the nil channel).
    const NILCH: Chan<i32> = Chan::nil();

    fn unreachable() -> ! {
        panic!("control flow shouldn't reach here");
    }

    // Calls f and verifies that f always/never panics depending on signal.
    fn test_panic(signal: &str, f: impl FnOnce()) {
        let s = if catch_unwind(AssertUnwindSafe(f)).is_err() {
            ALWAYS // f panicked
        } else {
            NEVER
        };
        assert_eq!(s, signal, "{signal} panic");
    }

    /// Whether goroutine `goid` is parked in a channel operation.
    fn parked_in_channel_op(goid: u64) -> bool {
        let dump = gort::runtime::stack_dump();
        let header = format!("goroutine {goid} [");
        dump.lines()
            .find_map(|l| l.strip_prefix(header.as_str()))
            .and_then(|rest| rest.split(']').next())
            .is_some_and(|state| state.starts_with("chan ") || state.starts_with("select"))
    }

    // Calls f in a goroutine and verifies that f always/never blocks depending on signal.
    fn test_block(signal: &str, f: impl FnOnce() + Send + 'static) {
        let c = chan::<&'static str>(1);
        let id = chan::<u64>(1);
        {
            let (c, id) = (c.clone(), id.clone());
            go(move || {
                id.send(gort::runtime::goid().expect("in a goroutine"));
                f();
                c.send(NEVER); // f didn't block
            });
        }
        let goid = id.recv().unwrap_or_default();
        let s = loop {
            if let Ok(s) = c.try_recv() {
                break s;
            }
            if parked_in_channel_op(goid) {
                break ALWAYS; // f blocked always
            }
            gosched();
        };
        assert_eq!(s, signal, "{signal} block");
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            const ASYNC: usize = 1; // asynchronous channels
            let closedch = chan::<i32>(0);
            closedch.close();

            // sending/receiving from a nil channel blocks
            test_block(ALWAYS, || NILCH.send(7));
            test_block(ALWAYS, || {
                NILCH.recv();
            });

            // sending/receiving from a nil channel inside a select is never selected
            test_panic(NEVER, || {
                select! {
                    send(NILCH, 7) => unreachable(),
                    default => {}
                }
            });
            test_panic(NEVER, || {
                select! {
                    recv(NILCH) -> _ => unreachable(),
                    default => {}
                }
            });

            // sending to an async channel with free buffer space never blocks
            test_block(NEVER, || {
                let ch = chan::<i32>(ASYNC);
                ch.send(7);
            });

            // receiving from a closed channel never blocks
            {
                let closedch = closedch.clone();
                test_block(NEVER, move || {
                    for _ in 0..10 {
                        if closedch.recv().unwrap_or_default() != 0 {
                            panic!("expected zero value when reading from closed channel");
                        }
                        let r = closedch.recv();
                        let (x, ok) = (r.unwrap_or_default(), r.is_some());
                        if x != 0 || ok {
                            panic!("closedch: {x} {ok}: expected 0, false from closed channel");
                        }
                    }
                });
            }

            // sending to a closed channel panics.
            test_panic(ALWAYS, || closedch.send(7));

            // receiving from a non-ready channel always blocks
            test_block(ALWAYS, || {
                let ch = chan::<i32>(0);
                ch.recv();
            });

            // empty selects always block
            test_block(ALWAYS, || select! {});

            // selects with only nil channels always block
            test_block(ALWAYS, move || {
                select! {
                    recv(NILCH) -> _ => unreachable(),
                }
            });
            test_block(ALWAYS, move || {
                select! {
                    send(NILCH, 7) => unreachable(),
                }
            });
            test_block(ALWAYS, move || {
                select! {
                    recv(NILCH) -> _ => unreachable(),
                    send(NILCH, 7) => unreachable(),
                }
            });

            // selects with non-ready non-nil channels always block
            test_block(ALWAYS, || {
                let ch = chan::<i32>(0);
                select! {
                    recv(ch) -> _ => unreachable(),
                }
            });

            // selects with default cases don't block
            test_block(NEVER, || {
                select! {
                    default => {}
                }
            });
            test_block(NEVER, move || {
                select! {
                    recv(NILCH) -> _ => unreachable(),
                    default => {}
                }
            });
            test_block(NEVER, move || {
                select! {
                    send(NILCH, 7) => unreachable(),
                    default => {}
                }
            });

            // selects with ready channels don't block
            test_block(NEVER, || {
                let ch = chan::<i32>(ASYNC);
                select! {
                    send(ch, 7) => {}
                    default => unreachable(),
                }
            });
            test_block(NEVER, || {
                let ch = chan::<i32>(ASYNC);
                ch.send(7);
                select! {
                    recv(ch) -> _ => {}
                    default => unreachable(),
                }
            });

            // selects with closed channels behave like ordinary operations
            {
                let closedch = closedch.clone();
                test_block(NEVER, move || {
                    select! {
                        recv(closedch) -> _ => {}
                    }
                });
            }
            {
                let closedch = closedch.clone();
                test_block(NEVER, move || {
                    select! {
                        recv(closedch) -> x => {
                            let _ = x.unwrap_or_default();
                        }
                    }
                });
            }
            {
                let closedch = closedch.clone();
                test_block(NEVER, move || {
                    select! {
                        recv(closedch) -> x => {
                            let (_x, _ok) = (x.unwrap_or_default(), x.is_some());
                        }
                    }
                });
            }
            test_panic(ALWAYS, || {
                select! {
                    send(closedch, 7) => {}
                }
            });

            // select should not get confused if it sees itself
            test_block(ALWAYS, || {
                let c = chan::<i32>(0);
                select! {
                    send(c, 1) => {}
                    recv(c) -> _ => {}
                }
            });
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select4.go
//
// A select proceeds when a value is ready, and the left-hand side of a receive case that is not
// chosen is not evaluated (Go prints "BUG: called f" if it is). In Rust the assignment is part
// of the arm's body, so it can only run for the chosen arm.
mod select4 {
    use super::*;
    use gort::select;
    use std::cell::Cell;

    fn f(called: &Cell<bool>) -> Box<i32> {
        called.set(true);
        Box::new(0)
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            struct X {
                a: i32,
            }
            let called = Cell::new(false);
            let mut x = X { a: 0 };
            let c = chan::<i32>(1);
            let c1 = chan::<i32>(0);
            c.send(42);
            select! {
                recv(c1) -> v => {
                    *f(&called) = v.unwrap_or_default();
                    // nothing
                }
                recv(c) -> v => {
                    x.a = v.unwrap_or_default();
                    assert_eq!(x.a, 42, "BUG: {}", x.a);
                }
            }
            assert!(!called.get(), "BUG: called f");
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select5.go
//
// Go's select5 is a generator: it enumerates every combination of a few templates' choices and
// prints a program with one function per combination, which the test suite then compiles and
// runs. Each combination does one real send or receive on a buffered channel (so the test is
// single-goroutine), phrased as a plain operation or as a select with or without a `default`
// before or after the real case, with or without a never-ready dummy send/receive case and a nil
// channel send/receive case, receiving into various kinds of left-hand sides, and (in the
// `...Order` templates) checking that operands are evaluated in source order.
//
// The port runs the same enumeration (Go's `choose`/`maybe`/`next` and the templates' choices
// in the templates' order) and executes each combination as it is enumerated, instead of
// printing a program. `select!` is a macro, not generated text, so the shapes it can take are
// written out: a select with `default` before the real case, after it, or none. An optional
// case that a combination leaves out is an arm on the nil channel whose operands are not
// evaluated: a nil arm is never chosen, and unevaluated operands leave the order checks as Go's.
// Go's left-hand sides map to assignments in the arm's body: `x = v`, `*f(&mut x) = v`,
// `let y = v; x = y`, through a `Box<dyn Any>` (Go's `interface{}`) and through a `HashMap`.
// Go's `**(**int)(nil) = <-c` (which would crash if evaluated) is a left-hand side that panics
// when evaluated. The test checks that it ran as many combinations as Go's generator writes.
mod select5 {
    use super::*;
    use gort::select;
    use std::any::Any;
    use std::cell::Cell;
    use std::collections::HashMap;

    // Code for enumerating all possible paths through some logic. The logic should call
    // choose(n) when it wants to choose between n possibilities. On successive runs through the
    // logic, choose(n) will return 0, 1, ..., n-1. The helper maybe() is similar but returns
    // true and then false.
    struct Choices {
        choices: Vec<(usize, usize)>, // (i, n)
        cp: isize,
    }

    impl Choices {
        fn new() -> Choices {
            Choices {
                choices: Vec::new(),
                cp: -1,
            }
        }

        fn maybe(&mut self) -> bool {
            self.choose(2) == 0
        }

        fn choose(&mut self, n: usize) -> usize {
            let cp = usize::try_from(self.cp).expect("choose outside a round");
            if cp >= self.choices.len() {
                // never asked this before: start with 0.
                self.choices.push((0, n));
                self.cp = self.choices.len() as isize;
                return 0;
            }
            // otherwise give recorded answer
            if n != self.choices[cp].1 {
                panic!("inconsistent choices");
            }
            let i = self.choices[cp].0;
            self.cp += 1;
            i
        }

        fn next(&mut self) -> bool {
            if self.cp < 0 {
                // start a new round
                self.cp = 0;
                return true;
            }
            // increment last choice sequence
            self.cp = self.choices.len() as isize - 1;
            while self.cp >= 0 && {
                let (i, n) = self.choices[self.cp as usize];
                i == n - 1
            } {
                self.cp -= 1;
            }
            if self.cp < 0 {
                self.choices.clear();
                return false;
            }
            let cp = self.cp as usize;
            self.choices[cp].0 += 1;
            self.choices.truncate(cp + 1);
            self.cp = 0;
            true
        }
    }

    /// The generator's template argument.
    struct Arg {
        def: bool,
        nreset: usize,
        choices: Choices,
    }

    impl Arg {
        fn maybe(&mut self) -> bool {
            self.choices.maybe()
        }

        fn maybe_default(&mut self) -> bool {
            if self.def {
                return false;
            }
            self.def = self.choices.maybe();
            self.def
        }

        fn must_default(&self) -> bool {
            !self.def
        }

        fn reset(&mut self) {
            self.def = false;
            self.nreset += 1;
        }
    }

    /// The generated program's globals.
    struct Env {
        c: Chan<i32>, // buffered so test is single-goroutine
        nilch: Chan<i32>,
        n: i32,
        x: i32,
        i: Option<Box<dyn Any>>,
        dummy: Chan<i32>,
        m: HashMap<i32, i32>,
        order: Cell<i32>,
    }

    // check order of operations by ensuring that successive calls to checkorder have
    // increasing o values.
    fn checkorder(order: &Cell<i32>, o: i32) {
        if o <= order.get() {
            panic!("invalid order {o} after {}: order", order.get());
        }
        order.set(o);
    }

    fn f(p: &mut i32) -> &mut i32 {
        p
    }

    fn fc(order: &Cell<i32>, c: &Chan<i32>, o: i32) -> Chan<i32> {
        checkorder(order, o);
        c.clone()
    }

    fn fp<'a>(order: &Cell<i32>, p: &'a mut i32, o: i32) -> &'a mut i32 {
        checkorder(order, o);
        p
    }

    fn fn_(order: &Cell<i32>, n: i32, o: i32) -> i32 {
        checkorder(order, o);
        n
    }

    /// Go's `**(**int)(nil)`: a left-hand side that must never be evaluated.
    fn nil_lhs() -> &'static mut i32 {
        panic!("evaluated the left-hand side of a receive case that was not chosen");
    }

    impl Env {
        fn die(&self) -> ! {
            panic!("have {} want {}: chan", self.x, self.n);
        }

        fn check_and_advance(&mut self) {
            if self.x != self.n {
                self.die();
            }
            self.n += 1;
        }

        /// A case's channel operand: `ch`, or `fc(ch, o)` in the `...Order` templates; for a
        /// case left out, the nil channel (and nothing is evaluated).
        fn chan_op(&self, present: bool, ordered: bool, ch: &Chan<i32>, o: i32) -> Chan<i32> {
            match (present, ordered) {
                (false, _) => Chan::nil(),
                (true, false) => ch.clone(),
                (true, true) => fc(&self.order, ch, o),
            }
        }

        /// A send case's value operand: `v`, or `fn(v, o)` in the `...Order` templates.
        fn val_op(&self, present: bool, ordered: bool, v: i32, o: i32) -> i32 {
            match (present, ordered) {
                (false, _) => 0,
                (true, false) => v,
                (true, true) => fn_(&self.order, v, o),
            }
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Def {
        None,
        Before,
        After,
    }

    /// The optional dummy and nil-channel cases, "to keep compiler from optimizing select".
    #[derive(Clone, Copy)]
    struct Extra {
        dummy_send: bool,
        dummy_recv: bool,
        nil_send: bool,
        nil_recv: bool,
    }

    fn plan_extra(a: &mut Arg) -> Extra {
        Extra {
            dummy_send: a.maybe(),
            dummy_recv: a.maybe(),
            nil_send: a.maybe(),
            nil_recv: a.maybe(),
        }
    }

    /// The left-hand side a receive case assigns to.
    #[derive(Clone, Copy)]
    enum Lhs {
        /// `case x = <-c:`
        Direct,
        /// `case *f(&x) = <-c:`, or `case *fp(&x, 100) = <-fc(c, 1):`
        Indirect,
        /// `case y := <-c: x = y`
        Define,
        /// `case i = <-c: x = i.(int)`
        Interface,
        /// `case m[13] = <-c: x = m[13]`, or `case m[fn(13, 100)] = <-fc(c, 1): x = m[13]`
        Map,
    }

    fn assign(env: &mut Env, lhs: Lhs, ordered: bool, v: Option<i32>) {
        let v = v.unwrap_or_default();
        match (lhs, ordered) {
            (Lhs::Direct, _) => env.x = v,
            (Lhs::Indirect, false) => *f(&mut env.x) = v,
            (Lhs::Indirect, true) => *fp(&env.order, &mut env.x, 100) = v,
            (Lhs::Define, _) => {
                let y = v;
                env.x = y;
            }
            (Lhs::Interface, _) => {
                env.i = Some(Box::new(v));
                env.x = *env.i.as_ref().unwrap().downcast_ref::<i32>().unwrap();
            }
            (Lhs::Map, false) => {
                env.m.insert(13, v);
                env.x = env.m[&13];
            }
            (Lhs::Map, true) => {
                env.m.insert(fn_(&env.order, 13, 100), v);
                env.x = env.m[&13];
            }
        }
    }

    /// The select of the `recv` and `recvOrder` templates, in one of its three shapes. The
    /// dummy and nil cases' operands are numbered 2..=7 for the order checks.
    macro_rules! recv_select {
        ($env:ident, $ordered:ident, $lhs:ident, $e:ident, [$($before:tt)*], [$($after:tt)*]) => {
            select! {
                $($before)*
                recv($env.chan_op(true, $ordered, &$env.c, 1)) -> v => assign($env, $lhs, $ordered, v),
                $($after)*
                send(
                    $env.chan_op($e.dummy_send, $ordered, &$env.dummy, 2),
                    $env.val_op($e.dummy_send, $ordered, 1, 3)
                ) => panic!("dummy send"),
                recv($env.chan_op($e.dummy_recv, $ordered, &$env.dummy, 4)) -> _ => {
                    panic!("dummy receive")
                }
                send(
                    $env.chan_op($e.nil_send, $ordered, &$env.nilch, 5),
                    $env.val_op($e.nil_send, $ordered, 1, 6)
                ) => panic!("nilch send"),
                recv($env.chan_op($e.nil_recv, $ordered, &$env.nilch, 7)) -> _ => {
                    panic!("nilch recv")
                }
            }
        };
    }

    /// The select of the `send` and `sendOrder` templates; operands numbered 1..=8.
    macro_rules! send_select {
        ($env:ident, $ordered:ident, $e:ident, [$($before:tt)*], [$($after:tt)*]) => {
            select! {
                $($before)*
                send(
                    $env.chan_op(true, $ordered, &$env.c, 1),
                    $env.val_op(true, $ordered, $env.n, 2)
                ) => {}
                $($after)*
                send(
                    $env.chan_op($e.dummy_send, $ordered, &$env.dummy, 3),
                    $env.val_op($e.dummy_send, $ordered, 1, 4)
                ) => panic!("dummy send"),
                recv($env.chan_op($e.dummy_recv, $ordered, &$env.dummy, 5)) -> _ => {
                    panic!("dummy receive")
                }
                send(
                    $env.chan_op($e.nil_send, $ordered, &$env.nilch, 6),
                    $env.val_op($e.nil_send, $ordered, 1, 7)
                ) => panic!("nilch send"),
                recv($env.chan_op($e.nil_recv, $ordered, &$env.nilch, 8)) -> _ => {
                    panic!("nilch recv")
                }
            }
        };
    }

    // Send n, receive it one way or another into x, check that they match. With `ordered`
    // (the recvOrder template), check the order of operations along the way.
    fn recv_template(a: &mut Arg, env: &mut Env, ordered: bool) {
        if ordered {
            env.order.set(0);
        }
        env.c.send(env.n);
        if a.maybe() {
            if ordered {
                // Outside of select, left-to-right rule applies.
                let p = fp(&env.order, &mut env.x, 1);
                *p = fc(&env.order, &env.c, 2).recv().unwrap_or_default();
            } else {
                env.x = env.c.recv().unwrap_or_default();
            }
        } else if ordered && a.maybe() {
            let k = fn_(&env.order, 13, 1);
            let v = fc(&env.order, &env.c, 2).recv().unwrap_or_default();
            env.m.insert(k, v);
            env.x = env.m[&13];
        } else {
            // Blocking or non-blocking, before the receive.
            let before = a.maybe_default();
            // Receive from c. Different cases are direct, indirect, :=, interface, and map
            // assignment (recvOrder has no direct one).
            let lhs = if !ordered && a.maybe() {
                Lhs::Direct
            } else if a.maybe() {
                Lhs::Indirect
            } else if a.maybe() {
                Lhs::Define
            } else if a.maybe() {
                Lhs::Interface
            } else {
                Lhs::Map
            };
            // Blocking or non-blocking again, after the receive.
            let after = a.maybe_default();
            let e = plan_extra(a);
            let def = match (before, after) {
                (true, _) => Def::Before,
                (false, true) => Def::After,
                (false, false) => Def::None,
            };
            match def {
                Def::Before => {
                    recv_select!(env, ordered, lhs, e, [default => panic!("nonblock"),], [])
                }
                Def::After => {
                    recv_select!(env, ordered, lhs, e, [], [default => panic!("nonblock"),])
                }
                Def::None => recv_select!(env, ordered, lhs, e, [], []),
            }
        }
        env.check_and_advance();
    }

    // Send n one way or another, receive it into x, check that they match. With `ordered` (the
    // sendOrder template), check the order of operations along the way.
    fn send_template(a: &mut Arg, env: &mut Env, ordered: bool) {
        if ordered {
            env.order.set(0);
        }
        if a.maybe() {
            env.chan_op(true, ordered, &env.c, 1)
                .send(env.val_op(true, ordered, env.n, 2));
        } else {
            // Blocking or non-blocking, before the send.
            let before = a.maybe_default();
            // Blocking or non-blocking, after it.
            let after = a.maybe_default();
            let e = plan_extra(a);
            if before {
                send_select!(env, ordered, e, [default => panic!("nonblock"),], []);
            } else if after {
                send_select!(env, ordered, e, [], [default => panic!("nonblock"),]);
            } else {
                send_select!(env, ordered, e, [], []);
            }
        }
        env.x = env.c.recv().unwrap_or_default();
        env.check_and_advance();
    }

    /// The select of the `nonblock` template, with `default` first or last.
    macro_rules! nonblock_select {
        ($env:ident, $arms:ident, [$($first:tt)*], [$($last:tt)*]) => {{
            let d = |i: usize| if $arms[i] { $env.dummy.clone() } else { Chan::nil() };
            let nl = |i: usize| if $arms[i] { $env.nilch.clone() } else { Chan::nil() };
            let mut x = $env.x;
            select! {
                $($first)*
                send(d(0), 1) => panic!("dummy <- 1"),
                send(nl(1), 1) => panic!("nilch <- 1"),
                recv(d(2)) -> _ => panic!("<-dummy"),
                recv(d(3)) -> v => {
                    x = v.unwrap_or_default();
                    panic!("<-dummy x");
                }
                recv(d(4)) -> v => {
                    *nil_lhs() = v.unwrap_or_default();
                    panic!("<-dummy (and didn't crash saving result!)");
                }
                recv(nl(5)) -> _ => panic!("<-nilch"),
                recv(nl(6)) -> v => {
                    x = v.unwrap_or_default();
                    panic!("<-nilch x");
                }
                recv(nl(7)) -> v => {
                    *nil_lhs() = v.unwrap_or_default();
                    panic!("<-nilch (and didn't crash saving result!)");
                }
                $($last)*
            }
            $env.x = x;
        }};
    }

    // Test various combinations of non-blocking operations. Receive assignments must not edit
    // or even attempt to compute the address of the lhs.
    #[allow(unused_assignments)] // assignments followed by a panic, as in Go
    fn nonblock_template(a: &mut Arg, env: &mut Env) {
        env.x = env.n;
        let first = a.maybe_default();
        let arms: [bool; 8] = std::array::from_fn(|_| a.maybe());
        let last = a.must_default();
        assert!(first != last, "exactly one default");
        if first {
            nonblock_select!(env, arms, [default => {}], []);
        } else {
            nonblock_select!(env, arms, [], [default => {}]);
        }
        env.check_and_advance();
    }

    /// Go's `do`: every combination of one template.
    fn each(a: &mut Arg, env: &mut Env, template: fn(&mut Arg, &mut Env)) {
        while a.choices.next() {
            template(a, env);
            a.reset();
        }
    }

    /// How many combinations Go's generator writes (the "// N cases" line it ends with):
    /// recv 1 + 5*(16 + 2*16), send 1 + (16 + 2*16), recvOrder 2 + 4*(16 + 2*16),
    /// sendOrder as send, nonblock 2*2^8.
    const CASES: usize = 241 + 49 + 194 + 49 + 512;

    #[test]
    fn main() {
        for_each_procs(|| {
            let mut env = Env {
                c: chan(1),
                nilch: Chan::nil(),
                n: 1,
                x: 0,
                i: None,
                dummy: chan(0),
                m: HashMap::new(),
                order: Cell::new(0),
            };
            let mut a = Arg {
                def: false,
                nreset: 0,
                choices: Choices::new(),
            };
            each(&mut a, &mut env, |a, env| recv_template(a, env, false));
            each(&mut a, &mut env, |a, env| send_template(a, env, false));
            each(&mut a, &mut env, |a, env| recv_template(a, env, true));
            each(&mut a, &mut env, |a, env| send_template(a, env, true));
            each(&mut a, &mut env, nonblock_template);
            assert_eq!(a.nreset, CASES, "cases");
            assert_eq!(env.n as usize, CASES + 1);
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select6.go
//
// Issue 2075: a bug in select corrupted the channel queues of failed cases if there were
// multiple waiters on those channels and the select was the last in the queue. If further waits
// were made on the channel without draining it first then those waiters would never wake up. In
// the code below c1 is such a channel.
mod select6 {
    use super::*;
    use gort::select;

    #[test]
    fn main() {
        for_each_procs(|| {
            let c1 = chan::<bool>(0);
            let c2 = chan::<bool>(0);
            let c3 = chan::<bool>(0);
            {
                let c1 = c1.clone();
                go(move || {
                    c1.recv();
                });
            }
            {
                let (c1, c2, c3) = (c1.clone(), c2.clone(), c3.clone());
                go(move || {
                    select! {
                        recv(c1) -> _ => panic!("dummy"),
                        recv(c2) -> _ => c3.send(true),
                    }
                    c1.recv();
                });
            }
            {
                let c2 = c2.clone();
                go(move || c2.send(true));
            }
            c3.recv();
            c1.send(true);
            c1.send(true);
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select7.go
//
// Select when discarding a value: every pairing of a plain, a one-case select and a two-case
// select receive with a plain, a one-case select and a two-case select send.
mod select7 {
    use super::*;
    use gort::select;

    fn recv1(c: Receiver<i32>) {
        c.recv();
    }

    fn recv2(c: Receiver<i32>) {
        select! {
            recv(c) -> _ => {}
        }
    }

    fn recv3(c: Receiver<i32>) {
        let c2 = chan::<i32>(0);
        select! {
            recv(c) -> _ => {}
            recv(c2) -> _ => {}
        }
    }

    fn send1(recv: fn(Receiver<i32>)) {
        let c = chan::<i32>(0);
        let r = rx(&c);
        go(move || recv(r));
        gosched();
        c.send(1);
    }

    fn send2(recv: fn(Receiver<i32>)) {
        let c = chan::<i32>(0);
        let r = rx(&c);
        go(move || recv(r));
        gosched();
        select! {
            send(c, 1) => {}
        }
    }

    fn send3(recv: fn(Receiver<i32>)) {
        let c = chan::<i32>(0);
        let r = rx(&c);
        go(move || recv(r));
        gosched();
        let c2 = chan::<i32>(0);
        select! {
            send(c, 1) => {}
            send(c2, 1) => {}
        }
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            send1(recv1);
            send2(recv1);
            send3(recv1);
            send1(recv2);
            send2(recv2);
            send3(recv2);
            send1(recv3);
            send2(recv3);
            send3(recv3);
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/select8.go
//
// Break statements in a select, in 1-, 2- and 3-case selects. Go's `break` leaves the select;
// in Rust a `break` in a `select!` body acts on the enclosing code, so each select sits in a
// labelled block that the body breaks out of. As in Go, the panics after the breaks are dead.
#[allow(unreachable_code)]
mod select8 {
    use super::*;
    use gort::select;

    #[test]
    fn main() {
        for_each_procs(|| {
            let ch = chan::<i32>(0);
            {
                let ch = ch.clone();
                go(move || loop {
                    ch.send(5);
                });
            }

            's1: {
                select! {
                    recv(ch) -> _ => {
                        break 's1;
                        panic!("unreachable");
                    }
                }
            }

            's2: {
                select! {
                    default => {
                        break 's2;
                        panic!("unreachable");
                    }
                }
            }

            's3: {
                select! {
                    recv(ch) -> _ => {
                        break 's3;
                        panic!("unreachable");
                    }
                    default => {
                        break 's3;
                        panic!("unreachable");
                    }
                }
            }

            's4: {
                select! {
                    recv(ch) -> _ => {
                        break 's4;
                        panic!("unreachable");
                    }
                    send(ch, 10) => panic!("unreachable"),
                    default => {
                        break 's4;
                        panic!("unreachable");
                    }
                }
            }
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/sendstmt.go
//
// Parsing cases that are a little different now that send is a statement, not an expression:
// a send case on a channel received from a channel, and a send of an `||` expression.
mod sendstmt {
    use super::*;
    use gort::select;

    fn chanchan() {
        let cc = chan::<Chan<i32>>(1);
        let c = chan::<i32>(1);
        cc.send(c.clone());
        select! {
            send(cc.recv().unwrap_or_default(), 2) => {}
            default => panic!("nonblock"),
        }
        if c.recv().unwrap_or_default() != 2 {
            panic!("bad receive");
        }
    }

    #[allow(clippy::nonminimal_bool, clippy::overly_complex_bool_expr)]
    fn sendprec() {
        let c = chan::<bool>(1);
        c.send(false || true); // same as c <- (false || true)
        if !c.recv().unwrap_or_default() {
            panic!("sent false");
        }
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            chanchan();
            sendprec();
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/sieve1.go
//
// The classical inefficient concurrent prime sieve: generate primes up to 100 using channels,
// checking the results. A linear chain of divisibility filters, equivalent to trial-dividing
// each n by all primes p ≤ n.
mod sieve1 {
    use super::*;

    // Send the sequence 2, 3, 4, ... to channel 'ch'.
    fn generate(ch: Sender<i32>) {
        let mut i = 2;
        loop {
            ch.send(i); // Send 'i' to channel 'ch'.
            i += 1;
        }
    }

    // Copy the values from channel 'in' to channel 'out', removing those divisible by 'prime'.
    fn filter(inp: Receiver<i32>, out: Sender<i32>, prime: i32) {
        for i in &inp {
            // Loop over values received from 'in'.
            if i % prime != 0 {
                out.send(i); // Send 'i' to channel 'out'.
            }
        }
    }

    // The prime sieve: Daisy-chain Filter processes together.
    fn sieve(primes: Sender<i32>) {
        let mut ch = chan::<i32>(0); // Create a new channel.
        {
            let t = tx(&ch);
            go(move || generate(t)); // Start Generate() as a subprocess.
        }
        loop {
            // Note that ch is different on each iteration.
            let prime = ch.recv().unwrap_or_default();
            primes.send(prime);
            let ch1 = chan::<i32>(0);
            let (i, o) = (rx(&ch), tx(&ch1));
            go(move || filter(i, o, prime));
            ch = ch1;
        }
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            let primes = chan::<i32>(0);
            {
                let t = tx(&primes);
                go(move || sieve(t));
            }
            let a = [
                2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79,
                83, 89, 97,
            ];
            for &ai in &a {
                let x = primes.recv().unwrap_or_default();
                assert_eq!(x, ai, "{x} != {ai}");
            }
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/sieve2.go
//
// Generate primes up to 100 using channels, checking the results. This sieve is
// Eratosthenesque and only considers odd candidates.
//
// Go's `container/heap` of `*PeekCh` is a `BinaryHeap` ordered by smallest head first, and the
// send proxy's expanding `container/ring` buffer is a `VecDeque` (the same unbounded FIFO; "ring
// empty" is "deque empty"). The proxy's select, with its output disabled through a nil channel
// while the buffer is empty, is Go's.
mod sieve2 {
    use super::*;
    use gort::select;
    use std::cmp::Ordering as CmpOrdering;
    use std::collections::{BinaryHeap, VecDeque};

    // Return a chan of odd numbers, starting from 5.
    fn odds() -> Chan<i32> {
        let out = chan::<i32>(50);
        let o = out.clone();
        go(move || {
            let mut n = 5;
            loop {
                o.send(n);
                n += 2;
            }
        });
        out
    }

    // Return a chan of odd multiples of the prime number p, starting from p*p.
    fn multiples(p: i32) -> Chan<i32> {
        let out = chan::<i32>(10);
        let o = out.clone();
        go(move || {
            let mut n = p * p;
            loop {
                o.send(n);
                n += 2 * p;
            }
        });
        out
    }

    struct PeekCh {
        head: i32,
        ch: Chan<i32>,
    }

    // Heap of PeekCh, sorting by head values (smallest first; `BinaryHeap` is a max-heap).
    impl Ord for PeekCh {
        fn cmp(&self, other: &Self) -> CmpOrdering {
            other.head.cmp(&self.head)
        }
    }

    impl PartialOrd for PeekCh {
        fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
            Some(self.cmp(other))
        }
    }

    impl PartialEq for PeekCh {
        fn eq(&self, other: &Self) -> bool {
            self.head == other.head
        }
    }

    impl Eq for PeekCh {}

    // Return a channel to serve as a sending proxy to 'out'. Use a goroutine to receive values
    // from 'out' and store them in an expanding buffer, so that sending to 'out' never blocks.
    fn sendproxy(out: Sender<i32>) -> Sender<i32> {
        let proxy = chan::<i32>(10);
        let inp = rx(&proxy);
        let nil: Sender<i32> = Chan::nil().split().0;
        go(move || {
            let mut buf: VecDeque<i32> = VecDeque::with_capacity(16);
            let mut e = 0;
            loop {
                let c = if buf.is_empty() {
                    // buffer empty: disable output
                    &nil
                } else {
                    e = buf[0];
                    &out
                };
                select! {
                    recv(inp) -> v => {
                        e = v.unwrap_or_default();
                        buf.push_back(e); // the ring expands when full
                    }
                    send(c, e) => {
                        buf.pop_front();
                    }
                }
            }
        });
        tx(&proxy)
    }

    // Return a chan int of primes.
    fn sieve() -> Chan<i32> {
        // The output values.
        let out = chan::<i32>(10);
        out.send(2);
        out.send(3);

        // The channel of all composites to be eliminated in increasing order.
        let composites = chan::<i32>(50);

        // The feedback loop.
        let primes = chan::<i32>(10);
        primes.send(3);

        // Merge channels of multiples of 'primes' into 'composites'.
        {
            let (primes, composites) = (primes.clone(), composites.clone());
            go(move || {
                let mut h: BinaryHeap<PeekCh> = BinaryHeap::new();
                let mut min = 15;
                loop {
                    let m = multiples(primes.recv().unwrap_or_default());
                    let head = m.recv().unwrap_or_default();
                    while min < head {
                        composites.send(min);
                        let mut minchan = h.pop().expect("heap.Pop of an empty heap");
                        min = minchan.head;
                        minchan.head = minchan.ch.recv().unwrap_or_default();
                        h.push(minchan);
                    }
                    while min == head {
                        let mut minchan = h.pop().expect("heap.Pop of an empty heap");
                        min = minchan.head;
                        minchan.head = minchan.ch.recv().unwrap_or_default();
                        h.push(minchan);
                    }
                    composites.send(head);
                    let first = m.recv().unwrap_or_default();
                    h.push(PeekCh { head: first, ch: m });
                }
            });
        }

        // Sieve out 'composites' from 'candidates'.
        {
            let (primes, composites, out) = (primes.clone(), composites.clone(), out.clone());
            go(move || {
                // In order to generate the nth prime we only need multiples of primes ≤
                // sqrt(nth prime). Thus, the merging goroutine will receive from 'primes' much
                // slower than this goroutine will send to it, making the buffer accumulate and
                // block this goroutine from sending, causing a deadlock. The solution is to use
                // a proxy goroutine to do automatic buffering.
                let primes = sendproxy(tx(&primes));

                let candidates = odds();
                let mut p = candidates.recv().unwrap_or_default();

                loop {
                    let c = composites.recv().unwrap_or_default();
                    while p < c {
                        primes.send(p);
                        out.send(p);
                        p = candidates.recv().unwrap_or_default();
                    }
                    if p == c {
                        p = candidates.recv().unwrap_or_default();
                    }
                }
            });
        }

        out
    }

    #[test]
    fn main() {
        for_each_procs(|| {
            let primes = sieve();
            let a = [
                2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79,
                83, 89, 97,
            ];
            for &ai in &a {
                let x = primes.recv().unwrap_or_default();
                assert_eq!(x, ai, "{x} != {ai}");
            }
        });
    }
}

// https://github.com/golang/go/blob/master/test/chan/zerosize.go
//
// Making channels of a zero-sized type.
mod zerosize {
    use super::*;

    #[test]
    fn main() {
        for_each_procs(|| {
            let _ = chan::<[u8; 0]>(0);
            let _ = chan::<[u8; 0]>(1);
            let _ = chan::<()>(0);
            let _ = chan::<()>(1);
        });
    }
}
