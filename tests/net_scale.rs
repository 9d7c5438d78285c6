//! The network at its limits: 10,000 connections open at once, and a server that runs out of
//! file descriptors (EMFILE) and keeps serving. Both need a process of their own, so each runs
//! its part in a re-executed copy of this test binary (`common::scenario`). The tests assert
//! counts and bytes, never durations.
//!
//! Descriptors: 10,000 client sockets plus 10,000 server sockets in one process would not fit
//! a hard limit of 20,000 (this machine's; the runtime raises the soft limit to the hard one),
//! so the clients run in the child and the server in the test process, and each checks first
//! that it may open 10,100 descriptors.

mod common;

use common::{run_with, scenario, spawn_scenario};
use gort::net::{TcpListener, TcpStream};
use gort::sync::WaitGroup;
use gort_runtime::loom::{AtomicBool, AtomicUsize, Ordering};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Connections open at once in `ten_thousand_connections_at_once`.
const CONNS: usize = 10_000;

/// Bytes each client sends and expects back.
const MSG: usize = 64;

/// Env var giving the child the server's address.
const ADDR: &str = "GORT_TEST_ADDR";

/// Descriptors a process of this test needs besides its `CONNS` sockets: the listener, the
/// netpoller, std's descriptors, pipes to the child, with room to spare.
const SPARE_FDS: usize = 100;

/// Panics unless this process may open `CONNS + SPARE_FDS` descriptors. The runtime has raised
/// the soft limit to the hard one by now, so the hard limit is what counts.
fn check_fd_headroom() {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
    assert!(
        rl.rlim_cur as usize >= CONNS + SPARE_FDS,
        "this test needs {} descriptors per process, and RLIMIT_NOFILE is {} (hard {}): raise \
         the hard limit (ulimit -Hn, or LimitNOFILE= for a service)",
        CONNS + SPARE_FDS,
        rl.rlim_cur,
        rl.rlim_max
    );
}

/// Client `id`'s message: its id in the first 4 bytes, then a pattern of the id, so a byte
/// echoed to the wrong client or at the wrong offset is caught.
fn message(id: usize) -> [u8; MSG] {
    let mut m = [0u8; MSG];
    m[..4].copy_from_slice(&(id as u32).to_le_bytes());
    for (j, b) in m.iter_mut().enumerate().skip(4) {
        *b = (id.wrapping_mul(31) + j * 7) as u8;
    }
    m
}

/// Echoes everything `s` sends until EOF or an error; returns the bytes echoed.
fn echo(s: &TcpStream) -> usize {
    let mut buf = [0u8; 1024];
    let mut total = 0;
    loop {
        match (&*s).read(&mut buf) {
            Ok(0) | Err(_) => return total,
            Ok(n) => {
                if (&*s).write_all(&buf[..n]).is_err() {
                    return total;
                }
                total += n;
            }
        }
    }
}

/// The client side, in the child: `CONNS` goroutines each connect, send their message, check
/// the echo, then wait until every one of them has done so before closing. So all `CONNS`
/// connections are open at the moment the barrier opens.
fn clients(addr: SocketAddr) {
    let echoed = Arc::new(WaitGroup::new());
    echoed.add(CONNS as i32);
    let verified = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..CONNS)
        .map(|id| {
            let (echoed, verified) = (echoed.clone(), verified.clone());
            gort::go(move || {
                let mut conn = None;
                let r = (|| -> io::Result<bool> {
                    let s = conn.insert(TcpStream::connect(addr)?);
                    let msg = message(id);
                    s.write_all(&msg)?;
                    let mut got = [0u8; MSG];
                    s.read_exact(&mut got)?;
                    Ok(got == msg)
                })();
                match r {
                    Ok(true) => {
                        // ORDERING: a count read after every client has been joined.
                        verified.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => eprintln!("client {id}: wrong echo"),
                    Err(e) => eprintln!("client {id}: {e}"),
                }
                echoed.done();
                echoed.wait();
                drop(conn); // every connection closes only after all have echoed
            })
        })
        .collect();
    for h in hs {
        h.join().expect("client goroutine panicked");
    }
    // ORDERING: every writer was joined above.
    let n = verified.load(Ordering::Relaxed);
    println!("clients: {n} of {CONNS} echoes verified while all were open");
}

#[test]
fn ten_thousand_connections_at_once() {
    scenario("clients", || {
        let addr: SocketAddr = std::env::var(ADDR)
            .expect("the parent passes the address")
            .parse()
            .expect("a socket address");
        run_with(2, move || {
            check_fd_headroom();
            clients(addr)
        });
    });
    run_with(2, || {
        check_fd_headroom();
        let l = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = l.local_addr().unwrap();
        let open = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicUsize::new(0));
        let accept_errors = Arc::new(AtomicUsize::new(0));
        let handlers = Arc::new(WaitGroup::new());
        let stopping = Arc::new(AtomicBool::new(false));
        let server = {
            let (l, open, peak, bytes) = (l.clone(), open.clone(), peak.clone(), bytes.clone());
            let (accept_errors, handlers, stopping) =
                (accept_errors.clone(), handlers.clone(), stopping.clone());
            gort::go(move || {
                let mut accepted = 0usize;
                loop {
                    match l.accept() {
                        Ok((s, _)) => {
                            accepted += 1;
                            let (open, peak, bytes) = (open.clone(), peak.clone(), bytes.clone());
                            handlers.go(move || {
                                // ORDERING: counters read after every handler is waited for.
                                let now = open.fetch_add(1, Ordering::Relaxed) + 1;
                                peak.fetch_max(now, Ordering::Relaxed);
                                bytes.fetch_add(echo(&s), Ordering::Relaxed);
                                open.fetch_sub(1, Ordering::Relaxed);
                            });
                        }
                        // ORDERING: Acquire pairs with the Release store before `l.close()`;
                        // the close wakes this accept through the netpoller, after the store.
                        Err(_) if stopping.load(Ordering::Acquire) => return accepted,
                        Err(e) => {
                            eprintln!("accept: {e}");
                            // ORDERING: a count read after the server is joined.
                            accept_errors.fetch_add(1, Ordering::Relaxed);
                            gort::time::sleep(Duration::from_millis(5));
                        }
                    }
                }
            })
        };
        let addr_s = addr.to_string();
        let out = gort::runtime::blocking(|| {
            spawn_scenario(
                "ten_thousand_connections_at_once",
                "clients",
                &[(ADDR, addr_s.as_str())],
            )
        });
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "child: {}\n{stdout}\n{stderr}",
            out.status
        );
        let want = format!("clients: {CONNS} of {CONNS} echoes verified while all were open");
        // `contains`: the harness prints the test's name on the line the output starts on.
        assert!(
            stdout.contains(&want),
            "stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        // ORDERING: Release pairs with the Acquire load in the server's error arm.
        stopping.store(true, Ordering::Release);
        l.close();
        let accepted = server.join().unwrap();
        handlers.wait();
        assert_eq!(accepted, CONNS);
        // ORDERING (the loads below): the server was joined and every handler waited for.
        assert_eq!(accept_errors.load(Ordering::Relaxed), 0);
        assert_eq!(
            peak.load(Ordering::Relaxed),
            CONNS,
            "connections open at once"
        );
        assert_eq!(open.load(Ordering::Relaxed), 0);
        assert_eq!(bytes.load(Ordering::Relaxed), CONNS * MSG);
    });
}

/// Clients connected before the descriptor limit is lowered, in `accept_emfile_...`.
const EMFILE_CLIENTS: usize = 32;

/// Descriptor numbers left free below the limit when it is lowered.
const EMFILE_FREE: usize = 4;

/// The open descriptors of this process (`/proc/self/fd`, minus the one reading it).
fn open_fds() -> Vec<usize> {
    let mut fds: Vec<usize> = std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    // The listing included the directory's own descriptor, closed by now.
    fds.retain(|&fd| std::fs::symlink_metadata(format!("/proc/self/fd/{fd}")).is_ok());
    fds
}

/// Sets the soft RLIMIT_NOFILE: no new descriptor may have a number at or above `limit`.
fn set_nofile_soft(limit: usize) {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
    rl.rlim_cur = limit as libc::rlim_t;
    // SAFETY: setrlimit reads the struct; a soft limit below the hard one is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) }, 0);
}

/// The child of `accept_emfile_is_an_error_and_the_server_keeps_serving`.
fn emfile() {
    let l = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let addr = l.local_addr().unwrap();
    // The kernel completes these handshakes into the accept queue; nobody has accepted yet.
    let clients: Vec<TcpStream> = (0..EMFILE_CLIENTS)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    // The limit caps the descriptor numbers a new socket may get, so it goes just above the
    // `EMFILE_FREE`-th unused number (an inherited descriptor may sit above it, and stays open).
    let fds = open_fds();
    let limit = (0..)
        .filter(|n| fds.binary_search(n).is_err())
        .nth(EMFILE_FREE - 1)
        .unwrap()
        + 1;
    let free = EMFILE_FREE;
    set_nofile_soft(limit);

    // The server, as examples/http_hello.rs: a failed accept is reported and backed off from.
    let errors = gort::chan::<io::Error>(1);
    let accepted = Arc::new(AtomicUsize::new(0));
    let stopping = Arc::new(AtomicBool::new(false));
    let server = {
        let (l, errors, accepted, stopping) = (
            l.clone(),
            errors.clone(),
            accepted.clone(),
            stopping.clone(),
        );
        gort::go(move || loop {
            match l.accept() {
                Ok((s, _)) => {
                    // ORDERING: a count; main reads it after the error it pairs with arrived
                    // through a channel.
                    accepted.fetch_add(1, Ordering::Relaxed);
                    drop(gort::go(move || echo(&s)));
                }
                // ORDERING: Acquire pairs with the Release store before `l.close()`;
                // the close wakes this accept through the netpoller, after the store.
                Err(_) if stopping.load(Ordering::Acquire) => return,
                Err(e) => {
                    let _ = errors.try_send(e);
                    gort::time::sleep(Duration::from_millis(5));
                }
            }
        })
    };
    let e = errors.recv().unwrap();
    // ORDERING: the accepts counted happened before the error was sent.
    let before = accepted.load(Ordering::Relaxed);
    println!(
        "accept failed with EMFILE once the table was full: {}",
        e.raw_os_error() == Some(libc::EMFILE) && (1..=free).contains(&before)
    );
    eprintln!("accept error after {before} accepts ({free} free descriptors): {e}");

    // Every client now does its round trip. The first `before` are served at once; closing
    // them frees descriptors, so the server's next accepts succeed and serve the rest.
    let hs: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(id, mut s)| {
            gort::go(move || {
                let msg = message(id);
                s.write_all(&msg).unwrap();
                let mut got = [0u8; MSG];
                s.read_exact(&mut got).unwrap();
                got == msg
            })
        })
        .collect();
    let ok = hs
        .into_iter()
        .filter_map(|h| h.join().unwrap().then_some(()))
        .count();
    println!("clients served after descriptors were freed: {ok} of {EMFILE_CLIENTS}");

    // A new connection after all that is served too.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"still serving").unwrap();
    let mut got = [0u8; 13];
    s.read_exact(&mut got).unwrap();
    println!("new connection echoed: {}", &got == b"still serving");
    // ORDERING: Release pairs with the Acquire load in the server's error arm.
    stopping.store(true, Ordering::Release);
    l.close();
    server.join().unwrap();
}

#[test]
fn accept_emfile_is_an_error_and_the_server_keeps_serving() {
    scenario("emfile", || run_with(2, emfile));
    let o = spawn_scenario(
        "accept_emfile_is_an_error_and_the_server_keeps_serving",
        "emfile",
        &[],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "child: {}\n{stdout}\n{stderr}",
        o.status
    );
    for want in [
        "accept failed with EMFILE once the table was full: true".to_string(),
        format!(
            "clients served after descriptors were freed: {EMFILE_CLIENTS} of {EMFILE_CLIENTS}"
        ),
        "new connection echoed: true".to_string(),
    ] {
        // `contains`: the harness prints the test's name on the line the output starts on.
        assert!(
            stdout.contains(&want),
            "no {want:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
}
