//! The workloads and the systems, by name, and what each system can run.

use std::fmt;

/// One workload of the comparison. `n` and `m` are its parameters (see `Params`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Spawn `n` tasks in batches of 1000 (each returns a value), joining each batch.
    SpawnJoin,
    /// `n` round trips between two tasks over two unbuffered channels.
    PingPong,
    /// `n` messages from a producer to a consumer through a channel of capacity 1024.
    Spsc,
    /// `n` messages through one channel of capacity 1024, 4 senders and 4 receivers.
    Mpmc,
    /// `n` messages received by a select over 4 channels of capacity 1024, one producer each.
    SelectFanIn,
    /// Go's concurrent prime sieve, first 2000 primes, unbuffered channels; `n` sieves.
    Sieve,
    /// generate -> square -> add -> sink over unbuffered channels, `n` values.
    Pipeline,
    /// Two tasks share `n` yields (each yields n/2 times).
    Yield,
    /// 8 tasks share `n` lock/increment/unlock ops on one mutex.
    Mutex,
    /// `n` tasks each sleep `m` ms; the time until all have woken and finished.
    Sleepers,
    /// `n` client tasks each do `m` round trips of 64 bytes with an echo server on loopback.
    TcpEcho,
    /// `n` tasks each parked receiving on its own channel: spawn time and RSS per task.
    Park,
}

impl Workload {
    pub const ALL: [Workload; 12] = [
        Workload::SpawnJoin,
        Workload::PingPong,
        Workload::Spsc,
        Workload::Mpmc,
        Workload::SelectFanIn,
        Workload::Sieve,
        Workload::Pipeline,
        Workload::Yield,
        Workload::Mutex,
        Workload::Sleepers,
        Workload::TcpEcho,
        Workload::Park,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Workload::SpawnJoin => "spawn_join",
            Workload::PingPong => "pingpong",
            Workload::Spsc => "spsc",
            Workload::Mpmc => "mpmc",
            Workload::SelectFanIn => "select_fanin",
            Workload::Sieve => "sieve",
            Workload::Pipeline => "pipeline",
            Workload::Yield => "yield",
            Workload::Mutex => "mutex",
            Workload::Sleepers => "sleepers",
            Workload::TcpEcho => "tcp_echo",
            Workload::Park => "park",
        }
    }

    pub fn from_id(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.id() == s)
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A system under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    Go,
    Gort,
    May,
    Tokio,
    Std,
}

impl System {
    pub const ALL: [System; 5] = [
        System::Go,
        System::Gort,
        System::May,
        System::Tokio,
        System::Std,
    ];

    pub fn id(self) -> &'static str {
        match self {
            System::Go => "go",
            System::Gort => "gort",
            System::May => "may",
            System::Tokio => "tokio",
            System::Std => "std",
        }
    }

    /// The column heading.
    pub fn title(self) -> &'static str {
        match self {
            System::Go => "Go",
            System::Gort => "gort",
            System::May => "may",
            System::Tokio => "tokio",
            System::Std => "std threads",
        }
    }

    pub fn from_id(s: &str) -> Option<System> {
        System::ALL.into_iter().find(|x| x.id() == s)
    }
}

/// How a system runs a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// The same semantics as Go's twin.
    Same,
    /// Run, but with a stated difference; the table marks the cell with this note.
    Approx(&'static str),
    /// Not run; the table says why.
    NotAvailable(&'static str),
}

/// Why tokio's "unbuffered" cells are approximations.
pub const TOKIO_NO_RENDEZVOUS: &str = "tokio has no unbuffered (rendezvous) channel: \
    `tokio::sync::mpsc::channel(1)` is used, so a send completes once the value is queued, \
    without waiting for the receiver";
/// Why may's channel cells are approximations.
pub const MAY_UNBOUNDED: &str = "may's channels (`may::sync::mpsc`, `may::sync::mpmc`) are \
    all unbounded: a send never blocks, there is no rendezvous and no capacity limit";

/// What `system` can do of `w`, and how it differs from Go where it does.
pub fn support(system: System, w: Workload) -> Support {
    use Support::*;
    use System as S;
    use Workload as W;
    match (system, w) {
        (S::Go | S::Gort, _) => Same,

        (S::May, W::PingPong | W::Sieve | W::Pipeline | W::Spsc | W::Mpmc) => Approx(MAY_UNBOUNDED),
        (S::May, W::SelectFanIn) => Approx(
            "`may::select!` is not Go's select: each call spawns one coroutine per arm, the \
             first to finish wins and the others are cancelled, and an arm that already \
             received still runs its body, so one call can take more than one message; the \
             consumer counts messages instead of select calls (and may's channels are \
             unbounded)",
        ),
        (S::May, _) => Same,

        (S::Tokio, W::PingPong | W::Sieve | W::Pipeline) => Approx(TOKIO_NO_RENDEZVOUS),
        (S::Tokio, W::Mpmc) => Approx(
            "tokio has no multi-consumer channel (`tokio::sync::mpsc` has one receiver): \
             the bounded MPMC channel of the `async-channel` crate (capacity 1024) is used",
        ),
        (S::Tokio, W::SelectFanIn) => Approx(
            "`tokio::select!` polls the arms from a random start and takes the first ready \
             one in order, so among several ready arms the choice is not uniform as in Go's \
             select (no fairness guarantee); channels are `tokio::sync::mpsc` of capacity 1024",
        ),
        (S::Tokio, W::Mutex) => Approx(
            "`tokio::sync::Mutex` (the lock that parks tasks) is strictly FIFO-fair, like \
             Go's starvation mode all the time; tokio's docs advise `std::sync::Mutex` for \
             short critical sections, which would block worker threads",
        ),
        (S::Tokio, _) => Same,

        (S::Std, W::Mpmc) => {
            NotAvailable("`std::sync::mpsc` has a single receiver (`std::sync::mpmc` is unstable)")
        }
        (S::Std, W::SelectFanIn) => NotAvailable("std has no select over channels"),
        (S::Std, W::Sleepers) => NotAvailable(
            "the full run's 100,000 sleepers would be 100,000 OS threads; the harness runs at \
             most 10,000 threads at once (each is a kernel task with its own stack mapping, and \
             `ulimit -u` is commonly below 100,000)",
        ),
        (S::Std, W::Park) => NotAvailable(
            "the full run's 100,000 parked tasks would be 100,000 OS threads, over the \
             harness's cap of 10,000; the scaling section has std at 1,000 to 10,000 threads",
        ),
        (S::Std, _) => Same,
    }
}

/// Parameters of one run: `n` (the main count) and `m` (the second parameter of sleepers: ms;
/// of tcp_echo: round trips per client; unused elsewhere).
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub n: u64,
    pub m: u64,
}
