//! Go's concurrent prime sieve: a generator goroutine feeds 2, 3, 4, ... into a chain of filter
//! goroutines, one per prime found, all connected by unbuffered channels.
//!
//! `cargo run --release --example sieve -- N` prints the first N primes (default 100).

use gort::Chan;

/// Sends 2, 3, 4, ... to `ch`.
fn generate(ch: Chan<u64>) {
    let mut i = 2;
    loop {
        ch.send(i);
        i += 1;
    }
}

/// Copies values from `input` to `output`, removing those divisible by `prime`.
fn filter(input: Chan<u64>, output: Chan<u64>, prime: u64) {
    for i in &input {
        if i % prime != 0 {
            output.send(i);
        }
    }
}

fn main() {
    let n: usize = match std::env::args().nth(1) {
        None => 100,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("usage: sieve [N]  (N = how many primes to print, a positive integer)");
            std::process::exit(2)
        }),
    };
    gort::run(move || {
        let mut ch = gort::chan::<u64>(0);
        let g = ch.clone();
        gort::go(move || generate(g));
        let mut out = String::new();
        for _ in 0..n {
            let prime = ch.recv().expect("the generator never closes");
            out.push_str(&prime.to_string());
            out.push('\n');
            let ch1 = gort::chan::<u64>(0);
            let (i, o) = (ch.clone(), ch1.clone());
            gort::go(move || filter(i, o, prime));
            ch = ch1;
        }
        print!("{out}");
    });
}
