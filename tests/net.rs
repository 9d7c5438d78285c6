//! Sockets park goroutines on the netpoller: echo over TCP, UDP and Unix sockets; Go's
//! deadlines; close waking blocked goroutines; a read and a write at once on one socket;
//! refused connections; and no false deadlock report while goroutines wait on the network.
//! Every test runs at GOMAXPROCS 1, 2 and 4 and asserts outcomes, never durations.

mod common;

use common::for_each_procs;
use gort::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn echo_server() -> (std::net::SocketAddr, gort::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = gort::go(move || loop {
        let (s, _) = match l.accept() {
            Ok(c) => c,
            Err(_) => return,
        };
        drop(gort::go(move || {
            let mut buf = [0u8; 1024];
            loop {
                match (&s).read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if (&s).write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        }));
    });
    (addr, h)
}

#[test]
fn tcp_echo_many_clients() {
    for_each_procs(|| {
        let (addr, _server) = echo_server();
        let clients: Vec<_> = (0..50u8)
            .map(|c| {
                gort::go(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    let mut buf = [0u8; 64];
                    for i in 0..100u8 {
                        let msg = [c ^ i; 64];
                        s.write_all(&msg).unwrap();
                        s.read_exact(&mut buf).unwrap();
                        assert_eq!(buf, msg);
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
    });
}

#[test]
fn read_deadline_in_the_past_fails_at_once_and_clearing_rearms() {
    for_each_procs(|| {
        let (addr, _server) = echo_server();
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_deadline(Some(Instant::now() - Duration::from_secs(1)))
            .unwrap();
        let mut buf = [0u8; 4];
        let e = (&s).read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert_eq!(e.to_string(), "i/o timeout");
        // A future deadline with no data times out.
        s.set_read_deadline(Some(Instant::now() + Duration::from_millis(20)))
            .unwrap();
        assert_eq!((&s).read(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut);
        // Cleared: the read waits for the echo.
        s.set_read_deadline(None).unwrap();
        (&s).write_all(b"ping").unwrap();
        (&s).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    });
}

#[test]
fn accept_deadline_times_out() {
    for_each_procs(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_deadline(Some(Instant::now() + Duration::from_millis(10)))
            .unwrap();
        assert_eq!(l.accept().err().unwrap().kind(), ErrorKind::TimedOut);
    });
}

#[test]
fn close_wakes_a_blocked_reader() {
    for_each_procs(|| {
        let (addr, _server) = echo_server();
        let s = Arc::new(TcpStream::connect(addr).unwrap());
        let s2 = s.clone();
        let reader = gort::go(move || {
            let mut buf = [0u8; 8];
            (&*s2).read(&mut buf)
        });
        gort::time::sleep(Duration::from_millis(5));
        s.close();
        let e = reader.join().unwrap().unwrap_err();
        assert_eq!(e.to_string(), "use of closed network connection");
        assert!((&*s).write(b"x").is_err());
    });
}

#[test]
fn read_and_write_at_once_on_one_socket() {
    for_each_procs(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        const N: usize = 256 * 1024;
        // The peer sends N bytes while also reading N bytes.
        let peer = gort::go(move || {
            let (s, _) = l.accept().unwrap();
            let s = Arc::new(s);
            let w = s.clone();
            let writer = gort::go(move || (&*w).write_all(&vec![7u8; N]).unwrap());
            let mut got = vec![0u8; N];
            (&*s).read_exact(&mut got).unwrap();
            writer.join().unwrap();
            got.iter().all(|&b| b == 9)
        });
        let s = Arc::new(TcpStream::connect(addr).unwrap());
        let w = s.clone();
        let writer = gort::go(move || (&*w).write_all(&vec![9u8; N]).unwrap());
        let mut got = vec![0u8; N];
        (&*s).read_exact(&mut got).unwrap();
        writer.join().unwrap();
        assert!(got.iter().all(|&b| b == 7));
        assert!(peer.join().unwrap());
    });
}

#[test]
fn connecting_to_a_closed_port_fails_cleanly() {
    for_each_procs(|| {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = TcpStream::connect(("127.0.0.1", port))
            .err()
            .expect("nothing listens there");
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn peer_reset_is_an_error_not_a_panic() {
    for_each_procs(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = gort::go(move || {
            let (s, _) = l.accept().unwrap();
            drop(s); // close without reading
        });
        let s = TcpStream::connect(addr).unwrap();
        h.join().unwrap();
        let mut buf = [0u8; 16];
        // EOF or reset; either way a value, not a panic.
        let mut errs = 0;
        for _ in 0..50 {
            if (&s).write(&[1u8; 1024]).is_err() {
                errs += 1;
                break;
            }
        }
        let r = (&s).read(&mut buf);
        assert!(errs > 0 || matches!(r, Ok(0) | Err(_)));
    });
}

#[test]
fn udp_round_trip() {
    for_each_procs(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let h = gort::go(move || {
            let mut buf = [0u8; 16];
            let (n, from) = b.recv_from(&mut buf).unwrap();
            b.send_to(&buf[..n], from).unwrap();
            from
        });
        a.send_to(b"hello", ba).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = a.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from, ba);
        assert_eq!(h.join().unwrap(), aa);
    });
}

#[test]
fn unix_stream_pair() {
    for_each_procs(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let h = gort::go(move || {
            let mut buf = [0u8; 5];
            (&b).read_exact(&mut buf).unwrap();
            (&b).write_all(&buf).unwrap();
        });
        (&a).write_all(b"12345").unwrap();
        let mut buf = [0u8; 5];
        (&a).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"12345");
        h.join().unwrap();
    });
}

#[test]
fn waiting_on_the_network_is_not_a_deadlock() {
    // Every goroutine waits: one on accept, main on a channel fed after the accept. The
    // connection comes from a goroutine that sleeps first, so for a while nothing can run.
    for_each_procs(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let done = gort::chan::<bool>(0);
        let d = done.clone();
        drop(gort::go(move || {
            let r = l.accept().is_ok();
            d.send(r);
        }));
        drop(gort::go(move || {
            gort::time::sleep(Duration::from_millis(30));
            let _s = TcpStream::connect(addr).unwrap();
        }));
        assert_eq!(done.recv(), Some(true));
    });
}
