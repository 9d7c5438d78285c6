//! The environment the runtime reads at start (Go's `osinit`/`schedinit`/`parsedebugvars`):
//! CPU count, `GOMAXPROCS`, `GODEBUG=schedtrace=MS,scheddetail=1`, `GORT_STACK_SIZE`.
//! Bad values are reported once on stderr and replaced by the default; they never crash.

use crate::coro::stack::DEFAULT_STACK_SIZE;
use crate::sched::proc::MAX_GOMAXPROCS;

/// GODEBUG variables the scheduler honours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DebugVars {
    /// Print a SCHED line every this many ms (0: off).
    pub schedtrace: i64,
    /// With schedtrace, print per-P/M/G detail.
    pub scheddetail: i64,
}

/// The number of CPUs this process may use (Go's `ncpu`), read once: `available_parallelism`
/// reads cgroup files, far too slow for `can_spin`'s hot path.
pub fn num_cpu() -> usize {
    static NCPU: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *NCPU.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// GOMAXPROCS from the environment, or `ncpu`.
pub fn gomaxprocs_from_env(ncpu: usize) -> usize {
    match std::env::var("GOMAXPROCS") {
        // Go treats an empty variable as unset.
        Ok(v) if !v.trim().is_empty() => parse_gomaxprocs(&v, ncpu),
        _ => ncpu.clamp(1, MAX_GOMAXPROCS),
    }
}

/// Parses a GOMAXPROCS value; invalid values give a warning and `ncpu` (Go ignores them).
pub fn parse_gomaxprocs(v: &str, ncpu: usize) -> usize {
    let default = ncpu.clamp(1, MAX_GOMAXPROCS);
    match v.trim().parse::<i64>() {
        Ok(n) if (1..=MAX_GOMAXPROCS as i64).contains(&n) => n as usize,
        Ok(n) if n > MAX_GOMAXPROCS as i64 => {
            crate::print::stderr(&format!("gort: GOMAXPROCS={v:?} is above the limit of {MAX_GOMAXPROCS}; using {MAX_GOMAXPROCS}\n"));
            MAX_GOMAXPROCS
        }
        _ => {
            crate::print::stderr(&format!("gort: ignoring GOMAXPROCS={v:?}: not a positive integer; using {default} (the CPU count)\n"));
            default
        }
    }
}

/// The goroutine stack size from `GORT_STACK_SIZE` (bytes, or with a k/K or m/M suffix).
pub fn stack_size_from_env() -> usize {
    match std::env::var("GORT_STACK_SIZE") {
        Ok(v) => parse_size(&v).unwrap_or_else(|| {
            crate::print::stderr(&format!("gort: ignoring GORT_STACK_SIZE={v:?}: expected bytes like 65536, 64k or 1m; using {DEFAULT_STACK_SIZE}\n"));
            DEFAULT_STACK_SIZE
        }),
        Err(_) => DEFAULT_STACK_SIZE,
    }
}

fn parse_size(v: &str) -> Option<usize> {
    let v = v.trim();
    let (num, mul) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 1024),
        (i, 'm' | 'M') => (&v[..i], 1024 * 1024),
        _ => (v, 1),
    };
    num.parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .and_then(|n| n.checked_mul(mul))
}

/// Parses `GODEBUG` (comma-separated `name=value`; unknown names are ignored, as in Go).
pub fn debug_vars() -> DebugVars {
    std::env::var("GODEBUG")
        .map(|v| parse_godebug(&v))
        .unwrap_or_default()
}

/// Parses a GODEBUG string.
pub fn parse_godebug(v: &str) -> DebugVars {
    let mut d = DebugVars::default();
    for kv in v.split(',') {
        let Some((k, val)) = kv.split_once('=') else {
            continue;
        };
        let Ok(n) = val.trim().parse::<i64>() else {
            continue;
        };
        match k.trim() {
            "schedtrace" => d.schedtrace = n,
            "scheddetail" => d.scheddetail = n,
            _ => {}
        }
    }
    d
}

/// Raises the soft limit on open files to the hard limit, as Go does at start-up (Go 1.19+),
/// so servers can hold many connections. Failures are ignored: the old limit stays.
pub fn raise_fd_limit() {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass; no other preconditions.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return;
    }
    if rl.rlim_cur < rl.rlim_max {
        let new = libc::rlimit {
            rlim_cur: rl.rlim_max,
            rlim_max: rl.rlim_max,
        };
        // SAFETY: setrlimit reads the struct; raising the soft limit up to the hard one is
        // always permitted.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gomaxprocs_parsing() {
        assert_eq!(parse_gomaxprocs("3", 2), 3);
        assert_eq!(parse_gomaxprocs(" 1 ", 2), 1);
        assert_eq!(parse_gomaxprocs("0", 2), 2);
        assert_eq!(parse_gomaxprocs("-4", 2), 2);
        assert_eq!(parse_gomaxprocs("abc", 2), 2);
        assert_eq!(parse_gomaxprocs("", 8), 8);
        assert_eq!(parse_gomaxprocs("100000", 2), MAX_GOMAXPROCS);
    }

    #[test]
    fn godebug_parsing() {
        assert_eq!(
            parse_godebug("schedtrace=1000,scheddetail=1"),
            DebugVars {
                schedtrace: 1000,
                scheddetail: 1
            }
        );
        assert_eq!(
            parse_godebug("gctrace=1,schedtrace=x"),
            DebugVars::default()
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("64k"), Some(65536));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("x"), None);
    }
}
