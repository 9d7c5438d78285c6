//! A TCP echo server and its clients in one program: one goroutine per connection on the
//! server, one goroutine per client, all parked on the netpoller while they wait for bytes.
//!
//! `cargo run --release --example echo -- [CLIENTS] [ROUND_TRIPS]` (default 100 x 1000, 64-byte
//! messages) prints the round trips per second and checks every echo.

use gort::net::{TcpListener, TcpStream};
use std::io::{Read, Write};
use std::time::Instant;

fn serve(l: TcpListener) {
    loop {
        let Ok((s, _)) = l.accept() else { continue };
        drop(gort::go(move || {
            let mut buf = [0u8; 4096];
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
    }
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let clients = args
        .next()
        .unwrap_or(Ok(100))
        .expect("CLIENTS must be a number");
    let rounds = args
        .next()
        .unwrap_or(Ok(1000))
        .expect("ROUND_TRIPS must be a number");
    gort::run(move || {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().unwrap();
        drop(gort::go(move || serve(l)));
        let t = Instant::now();
        let hs: Vec<_> = (0..clients)
            .map(|c| {
                gort::go(move || {
                    let mut s = TcpStream::connect(addr).expect("connect");
                    let mut buf = [0u8; 64];
                    for i in 0..rounds {
                        let msg = [(c + i) as u8; 64];
                        s.write_all(&msg).unwrap();
                        s.read_exact(&mut buf).unwrap();
                        if buf != msg {
                            eprintln!("client {c}: wrong echo in round {i}");
                            std::process::exit(1);
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().expect("client panicked");
        }
        let secs = t.elapsed().as_secs_f64();
        let total = clients * rounds;
        println!("echo: {total} round trips ok ({clients} clients x {rounds})");
        println!("rate: {:.0} round trips/s", total as f64 / secs);
    });
}
