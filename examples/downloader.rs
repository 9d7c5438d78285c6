//! A concurrent downloader over real HTTP/1.1, after the seed notes' "Day 4" challenges 1 and
//! 3 (並行ダウンローダー): a pool of worker goroutines takes URLs from a jobs channel, fetches
//! each with `gort::net`, and sends one result per URL, success or error, to a results channel,
//! all under one `context::with_timeout`. (`downloader_sim.rs` is the same program with the
//! fetches simulated by timers.)
//!
//! The program starts its own HTTP server on `127.0.0.1:0` (also `gort::net`, one goroutine per
//! connection) with four kinds of URL:
//! - `/files/NAME`: 200 with `10000 * len(NAME)` bytes of a known pattern, which the client
//!   checks byte by byte;
//! - `/stall/NAME`: the server reads the request and never answers;
//! - `/trickle/NAME`: the server sends the headers and 1000 of the 1,000,000 bytes announced,
//!   then stops;
//! - anything else: 404 Not Found.
//!
//! One more URL points at a port nobody listens on: connection refused.
//!
//! The client (`get`) is Go's `http.Get` with `NewRequestWithContext` cut down to what this
//! needs: the context's deadline becomes the socket's deadline, and `context::after_func` closes
//! the socket if the context is cancelled, as net/http does. A fetch that runs into either
//! fails with the context's error, "context deadline exceeded".
//!
//! Then the all-or-nothing variant with `errgroup`: the first failure (a 404) cancels the
//! group's context, and the cancellation closes the socket of a fetch stuck on a stalled URL,
//! which ends with "context canceled".
//!
//! `cargo run --release --example downloader` prints one line per URL and a summary, checks its
//! own results, and exits with status 1 if one is wrong. The checked lines do not depend on
//! timing: the served files take milliseconds against a 500 ms deadline, and the stalled URLs
//! never finish.

use gort::context::{self, Context};
use gort::net::{TcpListener, TcpStream};
use gort::sync::errgroup::Group;
use gort::sync::{Mutex, WaitGroup};
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

/// Worker goroutines fetching at once.
const WORKERS: usize = 3;

/// The context timeout for the whole download.
const TIMEOUT: Duration = Duration::from_millis(500);

/// Byte `i` of every served file.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

// ---------------------------------------------------------------------------------------------
// The server.

/// Reads one request's head (up to the blank line) and returns its path.
fn read_request(s: &TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = (&*s).read(&mut buf)?;
        if n == 0 || head.len() > 16 * 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad request"));
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    match line.split(' ').collect::<Vec<_>>()[..] {
        ["GET", path, "HTTP/1.1"] => Ok(path.to_string()),
        _ => Err(io::Error::new(io::ErrorKind::InvalidData, "bad request")),
    }
}

/// Waits until the client goes away (a read returns EOF or an error).
fn wait_for_close(s: &TcpStream) {
    let mut buf = [0u8; 64];
    while matches!((&*s).read(&mut buf), Ok(n) if n > 0) {}
}

/// Serves one connection: one request, then close (the client asks for `Connection: close`).
fn handle(s: TcpStream) -> io::Result<()> {
    let path = read_request(&s)?;
    let mut w = &s;
    if let Some(name) = path.strip_prefix("/files/") {
        let body: Vec<u8> = (0..10_000 * name.len()).map(pattern).collect();
        write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        w.write_all(&body)?;
    } else if path.starts_with("/stall/") {
        wait_for_close(&s);
    } else if path.starts_with("/trickle/") {
        w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")?;
        w.write_all(&(0..1000).map(pattern).collect::<Vec<_>>())?;
        wait_for_close(&s);
    } else {
        w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n")?;
    }
    Ok(())
}

fn serve(l: TcpListener) {
    loop {
        match l.accept() {
            Ok((s, _)) => drop(gort::go(move || handle(s))),
            // Out of descriptors or similar: back off briefly and go on, as net/http does.
            Err(_) => gort::time::sleep(Duration::from_millis(5)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The client.

/// An HTTP response: status line and body.
struct Response {
    status: String,
    body: Vec<u8>,
}

/// Why a fetch failed: the request's context ended, or an error of its own.
enum FetchError {
    Context(context::ContextError),
    Other(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Context(e) => write!(f, "{e}"),
            FetchError::Other(e) => f.write_str(e),
        }
    }
}

/// `io::Error` in Go's words, without std's "(os error N)".
fn io_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".to_string(),
        io::ErrorKind::UnexpectedEof => "unexpected EOF".to_string(),
        _ => e.to_string(),
    }
}

/// Splits `http://HOST:PORT/PATH` into the address and the path.
fn split_url(url: &str) -> Result<(&str, &str), FetchError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| FetchError::Other(format!("unsupported protocol scheme in {url:?}")))?;
    Ok(rest.find('/').map_or((rest, "/"), |i| rest.split_at(i)))
}

/// Reads a response: the head up to the blank line, then `Content-Length` bytes of body.
fn read_response(mut s: &TcpStream) -> io::Result<Response> {
    let mut data = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed HTTP response"))?
        .to_string();
    let len = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Content-Length"))?;
    let mut body = data.split_off(head_end);
    let have = body.len();
    body.resize(len, 0);
    if have < len {
        s.read_exact(&mut body[have..])?;
    }
    Ok(Response { status, body })
}

/// Go's `http.Get` with a request context: GET `url`, or the context's error once it is done.
fn get(ctx: &Context, url: &str) -> Result<Response, FetchError> {
    if let Some(e) = ctx.err() {
        return Err(FetchError::Context(e));
    }
    let (addr, path) = split_url(url)?;
    let s = TcpStream::connect(addr)
        .map_err(|e| FetchError::Other(format!("dial tcp: {}", io_text(&e))))?;
    let s = Arc::new(s);
    // The context's deadline is the socket's; a cancellation closes the socket.
    s.set_deadline(ctx.deadline())
        .map_err(|e| FetchError::Other(io_text(&e)))?;
    let watch = {
        let s = s.clone();
        context::after_func(ctx, move || s.close())
    };
    let r = (&*s)
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .and_then(|()| read_response(&s));
    watch.stop();
    r.map_err(|e| {
        if ctx.is_done() || e.kind() == io::ErrorKind::TimedOut {
            // A timeout or a close caused by the context: its deadline has passed or it was
            // cancelled, so it is done or about to be (the socket's deadline and the
            // context's timer are the same instant, and either may fire first).
            ctx.done().recv();
            FetchError::Context(ctx.err().expect("the context is done"))
        } else {
            FetchError::Other(io_text(&e))
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The worker pool (Go: `downloadWorker` and `channelBasedDownload`).

/// One URL to fetch; `index` orders the report.
struct Job {
    index: usize,
    url: String,
}

/// Go: `DownloadResult`: one per URL, a size or an error.
struct Outcome {
    index: usize,
    result: Result<usize, String>,
}

/// How many workers are fetching now, and the most there ever were.
#[derive(Default)]
struct Active {
    now: usize,
    max: usize,
}

/// Fetches `url` and checks the body: every byte must be the pattern.
fn download(ctx: &Context, url: &str) -> Result<usize, String> {
    let r = get(ctx, url).map_err(|e| e.to_string())?;
    if r.status != "200 OK" {
        return Err(format!("bad status: {}", r.status));
    }
    match r.body.iter().enumerate().find(|&(i, &b)| b != pattern(i)) {
        Some((i, _)) => Err(format!("corrupt body at byte {i}")),
        None => Ok(r.body.len()),
    }
}

/// Go: `downloadWorker`: takes jobs until the channel closes, one result per job.
fn worker(
    ctx: Context,
    jobs: gort::Chan<Job>,
    results: gort::Chan<Outcome>,
    active: Arc<Mutex<Active>>,
) {
    for job in &jobs {
        {
            let mut a = active.lock();
            a.now += 1;
            a.max = a.max.max(a.now);
        }
        let result = download(&ctx, &job.url);
        active.lock().now -= 1;
        results.send(Outcome {
            index: job.index,
            result,
        });
    }
}

/// Go: `channelBasedDownload(urls, numWorkers)`: every URL gets a result, in input order.
fn download_all(
    urls: &[String],
    workers: usize,
    timeout: Duration,
) -> (Vec<Result<usize, String>>, usize) {
    let (ctx, cancel) = context::with_timeout(&context::background(), timeout);
    let jobs = gort::chan::<Job>(urls.len());
    let results = gort::chan::<Outcome>(workers);
    let active = Arc::new(Mutex::new(Active::default()));
    let wg = Arc::new(WaitGroup::new());
    for _ in 0..workers {
        let (ctx, jobs, results, active) =
            (ctx.clone(), jobs.clone(), results.clone(), active.clone());
        wg.go(move || worker(ctx, jobs, results, active));
    }
    for (index, url) in urls.iter().enumerate() {
        jobs.send(Job {
            index,
            url: url.clone(),
        });
    }
    jobs.close();
    // Closes the results once every worker has finished, which ends the loop below.
    {
        let results = results.clone();
        drop(gort::go(move || {
            wg.wait();
            results.close();
        }));
    }
    let mut out: Vec<Option<Result<usize, String>>> = (0..urls.len()).map(|_| None).collect();
    for o in &results {
        out[o.index] = Some(o.result);
    }
    cancel.cancel(); // Go: defer cancel()
    let max = active.lock().max;
    let out = out
        .into_iter()
        .map(|r| r.expect("one result per URL"))
        .collect();
    (out, max)
}

/// All or nothing (x/sync's errgroup): every URL must download; the first failure cancels the
/// group's context, which stops the fetches still running. Returns `wait`'s error and each
/// URL's own result.
fn download_group(urls: &[String]) -> (Result<(), String>, Vec<Result<usize, String>>) {
    let (g, ctx) = Group::<String>::with_context(&context::background());
    let each = Arc::new(Mutex::new(vec![None; urls.len()]));
    for (i, url) in urls.iter().enumerate() {
        let (ctx, each, url) = (ctx.clone(), each.clone(), url.clone());
        g.go(move || {
            let r = download(&ctx, &url);
            each.lock()[i] = Some(r.clone());
            r.map(drop).map_err(|e| format!("{url}: {e}"))
        });
    }
    let r = g.wait();
    let each = each
        .lock()
        .iter()
        .map(|r| r.clone().expect("every fetch reports"))
        .collect();
    (r, each)
}

fn main() {
    let ok = gort::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let server = format!("http://{}", l.local_addr().unwrap());
        drop(gort::go(move || serve(l)));
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            format!("http://{}", l.local_addr().unwrap())
        }; // dropped: nothing listens there now

        // The stalled URLs come first, so they hold two of the three workers until the
        // deadline while the third fetches the rest.
        let paths = [
            "/stall/big.iso",
            "/trickle/huge.iso",
            "/files/file1.zip",
            "/files/file2.zip",
            "/files/photo.jpg",
            "/missing.zip",
            "/files/notes.txt",
            "/files/archive.tar.gz",
            "/files/a.bin",
            "/files/file3.zip",
        ];
        let mut urls: Vec<String> = paths.iter().map(|p| format!("{server}{p}")).collect();
        urls.push(format!("{closed}/files/file4.zip"));
        let label = |url: &str| {
            url.replace(&server, "server:")
                .replace(&closed, "closed-port:")
        };

        let (results, max_active) = download_all(&urls, WORKERS, TIMEOUT);
        let mut total = 0;
        let mut good = true;
        for (url, r) in urls.iter().zip(&results) {
            match r {
                Ok(n) => {
                    println!("{}: {n} bytes, every byte checked", label(url));
                    total += n;
                }
                Err(e) => println!("{}: {e}", label(url)),
            }
            let path = url.rsplit_once('/').map_or("", |(_, p)| p);
            let want = if url.starts_with(&closed) {
                Err("dial tcp: connection refused".to_string())
            } else if url.contains("/stall/") || url.contains("/trickle/") {
                Err("context deadline exceeded".to_string())
            } else if url.contains("/files/") {
                Ok(10_000 * path.len())
            } else {
                Err("bad status: 404 Not Found".to_string())
            };
            good &= *r == want;
        }
        let ok = results.iter().filter(|r| r.is_ok()).count();
        println!(
            "{} URLs: {ok} downloaded ({total} bytes), {} failed",
            urls.len(),
            urls.len() - ok
        );
        println!(
            "at most {WORKERS} downloading at once: {}",
            max_active <= WORKERS
        );
        good &= max_active <= WORKERS;

        // All or nothing: the 404 cancels the stalled fetch.
        let urls = [
            format!("{server}/stall/big.iso"),
            format!("{server}/missing.zip"),
        ];
        let (r, each) = download_group(&urls);
        println!("errgroup: wait returned {}", label(&format!("{r:?}")));
        println!("errgroup: {}: {:?}", label(&urls[0]), each[0]);
        good &= r == Err(format!("{}: bad status: 404 Not Found", urls[1]))
            && each[0] == Err("context canceled".to_string());
        good
    });
    if !ok {
        eprintln!("downloader: self-check failed");
        std::process::exit(1);
    }
}
