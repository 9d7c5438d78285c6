//! The execution trace (`gort::trace::start`/`stop`, `GORT_TRACE=path`): the file is Chrome
//! trace-event JSON as Perfetto loads it (checked by parsing it here, with a small JSON reader,
//! since the workspace has no JSON crate), with the goroutine events a run produces: creation
//! with its parent and `go` site, runs and why they stopped, unblocks, and blocking calls. Slices
//! on one track must nest or follow each other, as trace viewers require. Only the events and
//! their order are checked, never durations.

mod common;

use common::{scenario, spawn_scenario};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The trace is process-wide: tests that start one take turns.
static TRACE: Mutex<()> = Mutex::new(());

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn get(&self, k: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.get(k),
            _ => None,
        }
    }
    fn str(&self, k: &str) -> Option<&str> {
        match self.get(k)? {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
    fn num(&self, k: &str) -> Option<f64> {
        match self.get(k)? {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }
    fn arg_num(&self, k: &str) -> Option<f64> {
        self.get("args")?.num(k)
    }
    fn arg_str(&self, k: &str) -> Option<&str> {
        self.get("args")?.str(k)
    }
}

/// A strict reader for the JSON subset the trace uses (all of JSON but exponents).
struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(
            self.s.get(self.i),
            Some(&c),
            "expected {:?} at {}",
            c as char,
            self.i
        );
        self.i += 1;
    }
    fn peek(&mut self) -> u8 {
        self.ws();
        self.s[self.i]
    }
    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.eat(b'{');
                let mut m = BTreeMap::new();
                if self.peek() == b'}' {
                    self.eat(b'}');
                    return Json::Obj(m);
                }
                loop {
                    let Json::Str(k) = self.value() else {
                        panic!("object key at {}", self.i)
                    };
                    self.eat(b':');
                    let v = self.value();
                    assert!(m.insert(k, v).is_none(), "duplicate key at {}", self.i);
                    if self.peek() == b',' {
                        self.eat(b',');
                    } else {
                        self.eat(b'}');
                        return Json::Obj(m);
                    }
                }
            }
            b'[' => {
                self.eat(b'[');
                let mut v = Vec::new();
                if self.peek() == b']' {
                    self.eat(b']');
                    return Json::Arr(v);
                }
                loop {
                    v.push(self.value());
                    if self.peek() == b',' {
                        self.eat(b',');
                    } else {
                        self.eat(b']');
                        return Json::Arr(v);
                    }
                }
            }
            b'"' => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let c = self.s[self.i];
                    self.i += 1;
                    match c {
                        b'"' => return Json::Str(out),
                        b'\\' => {
                            let e = self.s[self.i];
                            self.i += 1;
                            match e {
                                b'"' => out.push('"'),
                                b'\\' => out.push('\\'),
                                b'/' => out.push('/'),
                                b'n' => out.push('\n'),
                                b't' => out.push('\t'),
                                b'u' => {
                                    let h =
                                        std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                                    out.push(
                                        char::from_u32(u32::from_str_radix(h, 16).unwrap())
                                            .unwrap(),
                                    );
                                    self.i += 4;
                                }
                                _ => panic!("bad escape at {}", self.i),
                            }
                        }
                        c if c < 0x20 => panic!("control character in a string at {}", self.i),
                        _ => {
                            // Copy one UTF-8 sequence.
                            let start = self.i - 1;
                            while self.i < self.s.len() && (self.s[self.i] & 0xC0) == 0x80 {
                                self.i += 1;
                            }
                            out.push_str(std::str::from_utf8(&self.s[start..self.i]).unwrap());
                        }
                    }
                }
            }
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'n' => self.word("null", Json::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"-0123456789.".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Num(
                    t.parse()
                        .unwrap_or_else(|_| panic!("number {t:?} at {start}")),
                )
            }
        }
    }
    fn word(&mut self, w: &str, v: Json) -> Json {
        assert!(self.s[self.i..].starts_with(w.as_bytes()), "at {}", self.i);
        self.i += w.len();
        v
    }
}

fn parse(text: &str) -> Json {
    let mut r = Reader {
        s: text.as_bytes(),
        i: 0,
    };
    let v = r.value();
    r.ws();
    assert_eq!(r.i, text.len(), "trailing text after the JSON value");
    v
}

/// Checks the trace-event format and returns the events.
fn events(trace: &Json) -> Vec<Json> {
    assert_eq!(trace.str("displayTimeUnit"), Some("ns"));
    let Some(Json::Arr(evs)) = trace.get("traceEvents") else {
        panic!("no traceEvents array")
    };
    for e in evs {
        let ph = e.str("ph").expect("ph");
        assert!(e.str("name").is_some(), "{e:?}");
        assert!(e.num("pid").is_some(), "{e:?}");
        match ph {
            "X" => {
                assert!(
                    e.num("ts").unwrap() >= 0.0 && e.num("dur").unwrap() >= 0.0,
                    "{e:?}"
                );
                assert!(e.num("tid").is_some(), "{e:?}");
            }
            "i" => {
                assert_eq!(e.str("s"), Some("t"), "{e:?}");
                assert!(e.num("ts").is_some() && e.num("tid").is_some(), "{e:?}");
            }
            "M" => assert!(e.get("args").is_some(), "{e:?}"),
            _ => panic!("unexpected phase {ph}: {e:?}"),
        }
    }
    evs.clone()
}

/// Slices on one track must nest or follow each other (trace viewers drop the others). Times
/// are compared in whole nanoseconds, as the file writes them.
fn check_nesting(evs: &[Json]) {
    let ns = |us: f64| (us * 1000.0).round() as i64;
    let mut tracks: BTreeMap<(u64, u64), Vec<(i64, i64)>> = BTreeMap::new();
    for e in evs.iter().filter(|e| e.str("ph") == Some("X")) {
        let ts = ns(e.num("ts").unwrap());
        let key = (e.num("pid").unwrap() as u64, e.num("tid").unwrap() as u64);
        tracks
            .entry(key)
            .or_default()
            .push((ts, ts + ns(e.num("dur").unwrap())));
    }
    for (track, mut v) in tracks {
        v.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut open: Vec<i64> = Vec::new();
        for (s, e) in v {
            while open.last().is_some_and(|&end| end <= s) {
                open.pop();
            }
            if let Some(&end) = open.last() {
                assert!(
                    e <= end,
                    "track {track:?}: slice [{s}, {e}] ns overlaps one ending at {end}"
                );
            }
            open.push(e);
        }
    }
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gort-trace-{}-{name}.json", std::process::id()))
}

#[test]
fn trace_records_a_run_as_chrome_json() {
    let _turn = TRACE.lock().unwrap_or_else(|e| e.into_inner());
    let path = temp("api");
    gort::trace::start(&path).unwrap();
    assert!(gort::trace::is_enabled());
    let err = gort::trace::start(temp("again")).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    let (go_line, child) = gort::Builder::new().max_procs(2).run(|| {
        let c = gort::chan::<u32>(0);
        let c2 = c.clone();
        let go_line = line!() + 1;
        let h = gort::go(move || c2.recv().unwrap() + 1);
        // Let it block first, so it has a "chan receive" run and an unblock.
        while !gort::runtime::stack_dump().contains("[chan receive]") {
            gort::runtime::gosched();
        }
        let child = h.goid();
        c.send(41);
        assert_eq!(h.join().unwrap(), 42);
        gort::runtime::blocking(|| std::hint::black_box((0..1000u64).sum::<u64>()));
        (go_line, child)
    });
    gort::trace::stop().unwrap();
    assert!(!gort::trace::is_enabled());
    assert_eq!(
        gort::trace::stop().unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );

    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let evs = events(&parse(&text));
    check_nesting(&evs);
    let on_g = |name: &str, goid: u64| -> Vec<&Json> {
        evs.iter()
            .filter(|e| {
                e.num("pid") == Some(3.0)
                    && e.num("tid") == Some(goid as f64)
                    && e.str("name") == Some(name)
            })
            .collect()
    };
    let child_f = child as f64;

    let created = on_g("create", child);
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].arg_num("parent"), Some(1.0));
    assert_eq!(
        created[0].arg_str("at"),
        Some(format!("{}:{go_line}", file!()).as_str())
    );
    let mut runs = on_g("running", child);
    runs.sort_by(|a, b| a.num("ts").unwrap().total_cmp(&b.num("ts").unwrap()));
    let ends: Vec<&str> = runs.iter().map(|r| r.arg_str("end").unwrap()).collect();
    assert!(ends.contains(&"chan receive"), "{ends:?}");
    assert_eq!(ends.last(), Some(&"end"), "{ends:?}");
    let unblocks = on_g("unblock", child);
    assert!(
        unblocks.iter().any(|u| u.arg_num("by") == Some(1.0)),
        "{unblocks:?}"
    );
    // The same runs on the P and M tracks.
    for (pid, prefix) in [(1.0, "G"), (2.0, "G")] {
        assert!(
            evs.iter().any(|e| e.num("pid") == Some(pid)
                && e.str("name")
                    .is_some_and(|n| n.starts_with(&format!("{prefix}{child}")))
                && e.arg_num("goid") == Some(child_f)),
            "no run of G{child} on pid {pid}"
        );
    }
    // Goroutine 1's blocking call: a syscall slice, its run split around it.
    assert_eq!(on_g("syscall", 1).len(), 1);
    assert!(on_g("running", 1)
        .iter()
        .any(|r| r.arg_str("end") == Some("syscall")));
    assert!(evs
        .iter()
        .any(|e| e.str("name") == Some("syscall G1") && e.num("pid") == Some(2.0)));
    // Tracks are named.
    for (pid, name) in [(1.0, "Ps"), (2.0, "Ms"), (3.0, "Goroutines")] {
        assert!(evs.iter().any(|e| e.str("name") == Some("process_name")
            && e.num("pid") == Some(pid)
            && e.arg_str("name") == Some(name)));
    }
    assert!(evs.iter().any(|e| e.str("name") == Some("thread_name")
        && e.num("pid") == Some(3.0)
        && e.arg_str("name") == Some(format!("G{child}").as_str())));
    assert_eq!(
        parse(&text)
            .get("otherData")
            .and_then(|o| o.num("dropped_events")),
        Some(0.0)
    );
}

#[test]
fn gort_trace_env_traces_the_whole_run() {
    scenario("gort-trace", || {
        gort::Builder::new().max_procs(2).run(|| {
            let hs: Vec<_> = (0..10u64).map(|i| gort::go(move || i * i)).collect();
            let s: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(s, 285);
        });
    });
    let path = temp("env");
    let o = spawn_scenario(
        "gort_trace_env_traces_the_whole_run",
        "gort-trace",
        &[("GORT_TRACE", path.to_str().unwrap())],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let evs = events(&parse(&text));
    check_nesting(&evs);
    let creates = evs
        .iter()
        .filter(|e| e.str("name") == Some("create"))
        .count();
    // Goroutine 1 is created after the trace starts, then its ten children.
    assert_eq!(creates, 11, "{text}");
    let ended = evs
        .iter()
        .filter(|e| e.str("name") == Some("running") && e.arg_str("end") == Some("end"))
        .count();
    assert!(ended >= 10, "{text}");
}
