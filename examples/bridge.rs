//! The bridge channel: flatten a channel of channels into one channel of values, reading each
//! inner channel to its end before taking the next. This keeps the order across channels. It
//! mirrors `bridge` and `genVals` from "Concurrency in Go", Chapter 4, "The bridge-channel",
//! and the bridge-channel pattern in "Go並行処理" in the seed notes. The producer hands over
//! each inner channel, and with it the job of reading it; the consumer sees a single stream.
//!
//! As in the seed, `bridge` is called with a nil `done` (`Chan::nil()`), whose `select` arm
//! never fires. Prints `0 1 2 3 4 5 6 7 8 9`, then checks the order and exits with status 1 if
//! it is wrong.

use gort::{Chan, Receiver};

/// Go: `bridge(done <-chan interface{}, chanStream <-chan <-chan interface{}) <-chan interface{}`.
fn bridge(done: Receiver<()>, chan_stream: Receiver<Receiver<u64>>) -> Receiver<u64> {
    let (out, vals) = gort::chan::<u64>(0).split();
    drop(gort::go(move || {
        loop {
            let stream = gort::select! {
                recv(chan_stream) -> s => match s {
                    Some(s) => s,
                    None => break, // no more channels
                },
                recv(done) -> _ => break,
            };
            // Go: for val := range orDone(done, stream) { select { case valStream <- val: ... } }
            loop {
                let v = gort::select! {
                    recv(stream) -> v => v,
                    recv(done) -> _ => None,
                };
                let Some(v) = v else { break };
                gort::select! {
                    send(out, v) => {}
                    recv(done) -> _ => {}
                }
            }
        }
        out.close(); // Go: defer close(valStream)
    }));
    vals
}

/// Go: `genVals`: ten channels, each holding one value (0..10) and already closed.
fn gen_vals() -> Receiver<Receiver<u64>> {
    let (tx, rx) = gort::chan::<Receiver<u64>>(0).split();
    drop(gort::go(move || {
        for i in 0..10 {
            let stream = gort::chan::<u64>(1);
            stream.send(i);
            stream.close();
            tx.send(stream.split().1);
        }
        tx.close();
    }));
    rx
}

fn main() {
    let got = gort::run(|| {
        let no_done = Chan::<()>::nil().split().1; // Go: bridge(nil, genVals())
        bridge(no_done, gen_vals()).iter().collect::<Vec<u64>>()
    });
    let line: Vec<String> = got.iter().map(u64::to_string).collect();
    println!("{}", line.join(" "));
    if got != (0..10).collect::<Vec<u64>>() {
        eprintln!("bridge: values missing or out of order");
        std::process::exit(1);
    }
}
