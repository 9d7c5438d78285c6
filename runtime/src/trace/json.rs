//! Chrome trace-event JSON (the format chrome://tracing and Perfetto's UI open) for the execution
//! trace's events.
//!
//! Layout: three "processes", each a group of tracks.
//! - `Ps` (pid 1): one track per P; a slice `G7` for every interval goroutine 7 ran on it
//!   (Go's trace viewer "PROCS" view). Gaps are the P idle, or its M in the scheduler.
//! - `Ms` (pid 2): one track per M (OS thread); the same runs as `G7 on P0`, and `syscall G7` for
//!   the blocking calls (`runtime::blocking`) made on that thread.
//! - `Goroutines` (pid 3): one track per goroutine; `running` and `syscall` slices, and instant
//!   events `create` (parent goroutine and the `go` call's file:line) and `unblock` (by whom).
//!
//! Every slice is a complete event (`"ph":"X"`, with `dur`), instants are `"ph":"i"` with
//! thread scope, and tracks are named with metadata events (`"ph":"M"`). Times are microseconds
//! with nanosecond decimals. A slice's `args` carry the goroutine, P, M and why it stopped
//! (Go's wait-reason strings, `yield`, `preempted`, `syscall`, `end`).

use super::event::Event;
use std::collections::BTreeSet;
use std::io::{self, Write};

const PID_P: u32 = 1;
const PID_M: u32 = 2;
const PID_G: u32 = 3;

/// `ns` as the microseconds the format wants, with three decimals.
fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// A JSON string literal (file names are the only outside text written).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn slice(name: &str, start: u64, end: u64, pid: u32, tid: u64, args: &str) -> String {
    format!(
        "{{\"name\":{},\"ph\":\"X\",\"ts\":{},\"dur\":{},\"pid\":{pid},\"tid\":{tid},\"args\":{{{args}}}}}",
        quote(name),
        us(start),
        us(end.saturating_sub(start))
    )
}

fn instant(name: &str, ts: u64, tid: u64, args: &str) -> String {
    format!(
        "{{\"name\":{},\"ph\":\"i\",\"s\":\"t\",\"ts\":{},\"pid\":{PID_G},\"tid\":{tid},\"args\":{{{args}}}}}",
        quote(name),
        us(ts)
    )
}

fn meta(what: &str, pid: u32, tid: Option<u64>, args: &str) -> String {
    let tid = tid.map_or(String::new(), |t| format!(",\"tid\":{t}"));
    format!("{{\"name\":\"{what}\",\"ph\":\"M\",\"pid\":{pid}{tid},\"args\":{{{args}}}}}")
}

/// Writes `events` as one JSON object: `{"traceEvents":[...],"displayTimeUnit":"ns",
/// "otherData":{...}}`.
pub(super) fn write(w: &mut impl Write, events: &[Event], dropped: u64) -> io::Result<()> {
    let mut out: Vec<String> = Vec::with_capacity(events.len() * 3 + 16);
    let (mut ps, mut ms, mut gs) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for e in events {
        match *e {
            Event::Run {
                start,
                end,
                goid,
                p,
                m,
                why,
            } => {
                let args = format!(
                    "\"goid\":{goid},\"p\":{p},\"m\":{m},\"end\":{}",
                    quote(why.as_str())
                );
                out.push(slice(
                    &format!("G{goid}"),
                    start,
                    end,
                    PID_P,
                    p as u64,
                    &args,
                ));
                out.push(slice(
                    &format!("G{goid} on P{p}"),
                    start,
                    end,
                    PID_M,
                    m as u64,
                    &args,
                ));
                out.push(slice("running", start, end, PID_G, goid, &args));
                ps.insert(p as u64);
                ms.insert(m as u64);
                gs.insert(goid);
            }
            Event::Syscall {
                start,
                end,
                goid,
                m,
            } => {
                let args = format!("\"goid\":{goid},\"m\":{m}");
                out.push(slice(
                    &format!("syscall G{goid}"),
                    start,
                    end,
                    PID_M,
                    m as u64,
                    &args,
                ));
                out.push(slice("syscall", start, end, PID_G, goid, &args));
                ms.insert(m as u64);
                gs.insert(goid);
            }
            Event::Create {
                ts,
                goid,
                parent,
                site,
            } => {
                let at = site.map_or("\"\"".to_string(), |l| {
                    quote(&format!("{}:{}", l.file(), l.line()))
                });
                out.push(instant(
                    "create",
                    ts,
                    goid,
                    &format!("\"goid\":{goid},\"parent\":{parent},\"at\":{at}"),
                ));
                gs.insert(goid);
            }
            Event::Unblock { ts, goid, by } => {
                out.push(instant(
                    "unblock",
                    ts,
                    goid,
                    &format!("\"goid\":{goid},\"by\":{by}"),
                ));
                gs.insert(goid);
            }
        }
    }
    for (pid, name, sort) in [(PID_P, "Ps", 1), (PID_M, "Ms", 2), (PID_G, "Goroutines", 3)] {
        out.push(meta(
            "process_name",
            pid,
            None,
            &format!("\"name\":\"{name}\""),
        ));
        out.push(meta(
            "process_sort_index",
            pid,
            None,
            &format!("\"sort_index\":{sort}"),
        ));
    }
    for (pid, prefix, ids) in [(PID_P, "P", &ps), (PID_M, "M", &ms), (PID_G, "G", &gs)] {
        for id in ids {
            out.push(meta(
                "thread_name",
                pid,
                Some(*id),
                &format!("\"name\":\"{prefix}{id}\""),
            ));
        }
    }
    w.write_all(b"{\"traceEvents\":[\n")?;
    for (i, line) in out.iter().enumerate() {
        if i > 0 {
            w.write_all(b",\n")?;
        }
        w.write_all(line.as_bytes())?;
    }
    write!(
        w,
        "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{{\"producer\":\"gort\",\"dropped_events\":{dropped}}}}}\n"
    )?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::g::WaitReason;
    use crate::trace::event::Stop;

    #[test]
    fn events_as_chrome_json() {
        let site = std::panic::Location::caller();
        let events = [
            Event::Create {
                ts: 1500,
                goid: 7,
                parent: 1,
                site: Some(site),
            },
            Event::Run {
                start: 2000,
                end: 3250,
                goid: 7,
                p: 0,
                m: 2,
                why: Stop::Block(WaitReason::ChanReceive),
            },
            Event::Unblock {
                ts: 4000,
                goid: 7,
                by: 1,
            },
            Event::Syscall {
                start: 5000,
                end: 6000,
                goid: 7,
                m: 2,
            },
        ];
        let mut v = Vec::new();
        write(&mut v, &events, 0).unwrap();
        let s = String::from_utf8(v).unwrap();
        assert!(s.starts_with("{\"traceEvents\":[\n"), "{s}");
        assert!(s.contains(&format!(
            "{{\"name\":\"create\",\"ph\":\"i\",\"s\":\"t\",\"ts\":1.500,\"pid\":3,\"tid\":7,\
             \"args\":{{\"goid\":7,\"parent\":1,\"at\":\"{}:{}\"}}}}",
            site.file(),
            site.line()
        )));
        assert!(s.contains(
            "{\"name\":\"G7\",\"ph\":\"X\",\"ts\":2.000,\"dur\":1.250,\"pid\":1,\"tid\":0,\
             \"args\":{\"goid\":7,\"p\":0,\"m\":2,\"end\":\"chan receive\"}}"
        ));
        assert!(s.contains(
            "{\"name\":\"G7 on P0\",\"ph\":\"X\",\"ts\":2.000,\"dur\":1.250,\"pid\":2,\"tid\":2,"
        ));
        assert!(s.contains(
            "{\"name\":\"running\",\"ph\":\"X\",\"ts\":2.000,\"dur\":1.250,\"pid\":3,\"tid\":7,"
        ));
        assert!(s.contains(
            "{\"name\":\"unblock\",\"ph\":\"i\",\"s\":\"t\",\"ts\":4.000,\"pid\":3,\"tid\":7,\
             \"args\":{\"goid\":7,\"by\":1}}"
        ));
        assert!(s.contains(
            "{\"name\":\"syscall G7\",\"ph\":\"X\",\"ts\":5.000,\"dur\":1.000,\"pid\":2,\"tid\":2,"
        ));
        assert!(s.contains("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"P0\"}}"));
        assert!(s.contains("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":3,\"tid\":7,\"args\":{\"name\":\"G7\"}}"));
        assert!(s.contains(
            "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":2,\"args\":{\"name\":\"Ms\"}}"
        ));
        assert!(s.ends_with(
            "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"gort\",\"dropped_events\":0}}\n"
        ));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
