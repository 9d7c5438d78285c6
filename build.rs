//! Target probes for gort: which poller the netpoller will sit on (epoll or kqueue) and whether
//! the architecture is one corosensei can switch stacks on. An unsupported target fails here with
//! a clear message instead of deep inside corosensei's assembly.

use std::env;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(gort_epoll)");
    println!("cargo:rustc-check-cfg=cfg(gort_kqueue)");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    match os.as_str() {
        "linux" | "android" => println!("cargo:rustc-cfg=gort_epoll"),
        "macos" | "ios" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" => {
            println!("cargo:rustc-cfg=gort_kqueue")
        }
        other => panic!(
            "gort does not support target_os = {other:?}: its netpoller needs epoll (Linux) or \
             kqueue (macOS/BSD)"
        ),
    }
    match arch.as_str() {
        "x86_64" | "aarch64" | "riscv64" | "loongarch64" | "powerpc64" | "arm" => {}
        other => panic!(
            "gort does not support target_arch = {other:?}: goroutine stacks are switched by \
             corosensei, which supports x86_64, aarch64, arm, riscv64, loongarch64 and powerpc64"
        ),
    }
}
