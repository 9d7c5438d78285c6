//! A minimal HTTP/1.1 "hello" server: one goroutine per connection, keep-alive, parked on the
//! netpoller between requests. Load it with `wrk -t2 -c100 -d10s http://127.0.0.1:8080/`.
//!
//! `cargo run --release --example http_hello -- [ADDR]` serves until killed (default
//! 127.0.0.1:8080); `-- --selftest` serves on a free port, sends itself a few requests, checks
//! the answers and exits.

use gort::net::{TcpListener, TcpStream};
use std::io::{Read, Write};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// Serves one connection: answers every complete request (headers ending in CRLF CRLF).
fn handle(s: TcpStream) {
    let mut buf = vec![0u8; 8192];
    let mut have = 0;
    loop {
        match (&s).read(&mut buf[have..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        // Answer each complete request in the buffer (pipelining-safe).
        while let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            if (&s).write_all(RESPONSE).is_err() {
                return;
            }
            buf.copy_within(end + 4..have, 0);
            have -= end + 4;
        }
        if have == buf.len() {
            return; // request headers too large
        }
    }
}

fn serve(l: TcpListener) {
    loop {
        match l.accept() {
            Ok((s, _)) => drop(gort::go(move || handle(s))),
            // Out of descriptors or similar: this accept fails, the server backs off briefly
            // (as Go's net/http does) and goes on.
            Err(e) => {
                eprintln!("accept: {e}");
                gort::time::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

fn selftest() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().unwrap();
    drop(gort::go(move || serve(l)));
    let hs: Vec<_> = (0..10)
        .map(|_| {
            gort::go(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                for _ in 0..10 {
                    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                    let mut got = vec![0u8; RESPONSE.len()];
                    s.read_exact(&mut got).unwrap();
                    assert_eq!(got, RESPONSE);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().expect("client panicked");
    }
    println!("selftest: 100 requests answered");
}

fn main() {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    gort::run(move || {
        if arg == "--selftest" {
            return selftest();
        }
        let l = TcpListener::bind(arg.as_str()).unwrap_or_else(|e| {
            eprintln!("http_hello: cannot listen on {arg}: {e}");
            std::process::exit(1)
        });
        println!("listening on http://{}/", l.local_addr().unwrap());
        serve(l);
    });
}
