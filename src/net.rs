//! Go's net package, the socket part: TCP, UDP and Unix-domain sockets whose blocking-style
//! methods park the goroutine on the netpoller (never the OS thread), with `std::io::Read`/
//! `Write` and Go's deadlines.
//!
//! Every socket is non-blocking underneath. An operation is tried; on `WouldBlock` the
//! goroutine parks on the socket's poll descriptor until it is ready, its deadline passes
//! (`ErrorKind::TimedOut`, "i/o timeout") or it is closed ("use of closed network
//! connection"), as Go's `internal/poll.FD` does. The descriptor is registered with the
//! runtime on first use, so a socket may be created before `gort::run` but must then be used
//! from goroutines of one runtime. Listeners listen with Go's backlog, the kernel's maximum
//! (`somaxconn`), rather than std's 128.

use gort_runtime::loom::{AtomicBool, Ordering};
use gort_runtime::netpoll::{self, Mode, PollDesc};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::net as unix;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

/// The poll descriptor of one socket, registered on first use from a goroutine.
#[derive(Default)]
struct NetFd {
    pd: OnceLock<&'static PollDesc>,
    /// 1 while a goroutine registers the descriptor (registration happens once: epoll
    /// refuses a second one for the same fd).
    registering: AtomicBool,
}

impl NetFd {
    /// A poll descriptor registered at once if the caller is a goroutine (as sockets created
    /// inside the runtime are), else on first use.
    fn new(fd: RawFd) -> NetFd {
        let n = NetFd::default();
        if gort_runtime::runtime::goid().is_some() {
            let _ = n.pd(fd);
        }
        n
    }

    fn pd(&self, fd: RawFd) -> io::Result<&'static PollDesc> {
        loop {
            if let Some(pd) = self.pd.get() {
                return Ok(pd);
            }
            // ORDERING: Acquire/Release pair the registration with the OnceLock's own sync.
            if self.registering.swap(true, Ordering::Acquire) {
                // Another goroutine is registering this socket right now: a syscall away.
                gort_runtime::runtime::gosched();
                continue;
            }
            let r = netpoll::open(fd).inspect(|&pd| {
                let _ = self.pd.set(pd);
            });
            self.registering.store(false, Ordering::Release);
            return r;
        }
    }

    /// Runs `op` until it does not return `WouldBlock`, parking in between (Go's
    /// `fd.pd.prepareRead` + `waitRead` loop).
    fn io<R>(&self, fd: RawFd, mode: Mode, mut op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        let pd = self.pd(fd)?;
        pd.reset(mode)?;
        loop {
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => pd.wait(mode)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    fn set_deadline(&self, fd: RawFd, mode: Option<Mode>, when: Option<Instant>) -> io::Result<()> {
        let pd = self.pd(fd)?;
        match mode {
            Some(m) => pd.set_deadline(m, when),
            None => {
                pd.set_deadline(Mode::Read, when);
                pd.set_deadline(Mode::Write, when);
            }
        }
        Ok(())
    }

    fn evict(&self) {
        if let Some(pd) = self.pd.get() {
            pd.evict();
        }
    }
}

impl Drop for NetFd {
    fn drop(&mut self) {
        if let Some(pd) = self.pd.get() {
            pd.close();
        }
    }
}

/// The deadline and close methods every socket type has. Their examples are filled in per
/// type: `setup` lines bind the socket `s` (and whatever feeds it); `read` is an operation on
/// `s` that waits for input and `ready` a statement that provides it; `write`, if the type
/// writes, an operation that sends; `read_shared` is `read` on `r`, an `Arc` of `s`; `cleanup`,
/// if given, runs at the end.
macro_rules! deadlines {
    (
        setup: [$($setup:literal),+ $(,)?],
        read: $read:literal,
        ready: $ready:literal,
        $(write: $write:literal,)?
        read_shared: $read_shared:literal,
        $(cleanup: $cleanup:literal,)?
    ) => {
        /// Sets the read and write deadlines (Go's `SetDeadline`). An operation after the
        /// deadline fails with `ErrorKind::TimedOut`; a deadline in the past fails at once;
        /// `None` clears it.
        ///
        /// # Errors
        /// If the socket cannot be registered with the netpoller.
        ///
        /// # Examples
        /// ```
        /// # use std::io::{Read, Write};
        /// use std::time::Instant;
        /// gort::run(|| {
        $(#[doc = concat!("    ", $setup)])+
        ///     s.set_deadline(Some(Instant::now())).unwrap(); // passed: fails at once
        #[doc = concat!("    let err = ", $read, ".err().unwrap();")]
        ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        ///     assert_eq!(err.to_string(), "i/o timeout");
        ///     s.set_deadline(None).unwrap(); // cleared: waits again
        #[doc = concat!("    ", $ready)]
        #[doc = concat!("    assert!(", $read, ".is_ok());")]
        $(#[doc = concat!("    ", $cleanup)])?
        /// });
        /// ```
        pub fn set_deadline(&self, when: Option<Instant>) -> io::Result<()> {
            self.nfd.set_deadline(self.inner.as_raw_fd(), None, when)
        }

        /// Sets the read deadline (Go's `SetReadDeadline`).
        ///
        /// # Errors
        /// As [`Self::set_deadline`].
        ///
        /// # Examples
        /// ```
        /// # use std::io::{Read, Write};
        /// use std::time::Instant;
        /// gort::run(|| {
        $(#[doc = concat!("    ", $setup)])+
        ///     s.set_read_deadline(Some(Instant::now())).unwrap();
        #[doc = concat!("    let err = ", $read, ".err().unwrap();")]
        ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        $(
        ///     // Writes have their own deadline.
        #[doc = concat!("    assert!(", $write, ".is_ok());")]
        )?
        ///     s.set_read_deadline(None).unwrap();
        #[doc = concat!("    ", $ready)]
        #[doc = concat!("    assert!(", $read, ".is_ok());")]
        $(#[doc = concat!("    ", $cleanup)])?
        /// });
        /// ```
        pub fn set_read_deadline(&self, when: Option<Instant>) -> io::Result<()> {
            self.nfd
                .set_deadline(self.inner.as_raw_fd(), Some(Mode::Read), when)
        }

        /// Sets the write deadline (Go's `SetWriteDeadline`).
        ///
        /// # Errors
        /// As [`Self::set_deadline`].
        ///
        /// # Examples
        /// ```
        /// # use std::io::{Read, Write};
        /// use std::time::Instant;
        /// gort::run(|| {
        $(#[doc = concat!("    ", $setup)])+
        ///     s.set_write_deadline(Some(Instant::now())).unwrap();
        $(
        #[doc = concat!("    let err = ", $write, ".err().unwrap();")]
        ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        )?
        ///     // Reads have their own deadline.
        #[doc = concat!("    ", $ready)]
        #[doc = concat!("    assert!(", $read, ".is_ok());")]
        $(
        ///     s.set_write_deadline(None).unwrap();
        #[doc = concat!("    assert!(", $write, ".is_ok());")]
        )?
        $(#[doc = concat!("    ", $cleanup)])?
        /// });
        /// ```
        pub fn set_write_deadline(&self, when: Option<Instant>) -> io::Result<()> {
            self.nfd
                .set_deadline(self.inner.as_raw_fd(), Some(Mode::Write), when)
        }

        /// Wakes every goroutine blocked on this socket with "use of closed network
        /// connection"; later operations fail the same way. The descriptor itself is closed
        /// when the value is dropped (Go's `Close` from another goroutine).
        ///
        /// # Examples
        /// ```
        /// # use std::io::{Read, Write};
        /// use std::sync::Arc;
        /// gort::run(|| {
        $(#[doc = concat!("    ", $setup)])+
        ///     let s = Arc::new(s);
        ///     let r = s.clone();
        ///     // Nothing arrives, so this goroutine blocks until the close.
        #[doc = concat!("    let blocked = gort::go(move || ", $read_shared, ".err().unwrap());")]
        ///     s.close();
        ///     let err = blocked.join().unwrap();
        ///     assert_eq!(err.to_string(), "use of closed network connection");
        $(#[doc = concat!("    ", $cleanup)])?
        /// });
        /// ```
        pub fn close(&self) {
            self.nfd.evict();
        }
    };
}

/// `Read`/`Write` for a stream socket and for `&` it (so one goroutine can read while another
/// writes), each call parking on the netpoller instead of blocking.
macro_rules! stream_io {
    ($t:ty) => {
        impl Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let s: &$t = self;
                s.nfd
                    .io(s.inner.as_raw_fd(), Mode::Read, || (&s.inner).read(buf))
            }
        }

        impl Write for &$t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let s: &$t = self;
                s.nfd
                    .io(s.inner.as_raw_fd(), Mode::Write, || (&s.inner).write(buf))
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                (&*self).read(buf)
            }
        }

        impl Write for $t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                (&*self).write(buf)
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
    };
}

/// The listen backlog Go uses (`maxListenerBacklog`, net/sock_linux.go): the kernel's own
/// maximum, `/proc/sys/net/core/somaxconn`, read once. std listens with a fixed 128, so a burst
/// of connections larger than that overflows the accept queue and the dropped handshakes are
/// retried only after a SYN-ACK timeout (a second or more). Elsewhere, and if the file cannot be
/// read, it is `SOMAXCONN` (Go reads the BSDs' `kern.ipc.somaxconn`; that is not ported).
fn listen_backlog() -> libc::c_int {
    static BACKLOG: OnceLock<libc::c_int> = OnceLock::new();
    *BACKLOG.get_or_init(|| {
        #[cfg(target_os = "linux")]
        if let Ok(s) = std::fs::read_to_string("/proc/sys/net/core/somaxconn") {
            // Kernels since 4.1 keep the backlog in 32 bits (Go's `maxAckBacklog`).
            match s.trim().parse::<u32>() {
                Ok(n) if n > 0 => return libc::c_int::try_from(n).unwrap_or(libc::c_int::MAX),
                _ => {}
            }
        }
        libc::SOMAXCONN
    })
}

/// Gives a listening socket [`listen_backlog`]. std's `bind` has already listened with 128;
/// calling `listen` again on a listening socket only changes its backlog (Linux, the BSDs).
fn relisten(fd: RawFd) -> io::Result<()> {
    // SAFETY: `listen` takes a descriptor and an integer and touches no memory of ours; `fd` is
    // the caller's open listening socket.
    if unsafe { libc::listen(fd, listen_backlog()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A TCP listener (Go's `net.TCPListener`).
///
/// # Examples
/// ```
/// use std::io::{Read, Write};
/// gort::run(|| {
///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = l.local_addr().unwrap();
///     let server = gort::go(move || {
///         let (mut conn, _) = l.accept().unwrap();
///         let mut buf = [0; 4];
///         conn.read_exact(&mut buf).unwrap();
///         conn.write_all(&buf).unwrap(); // echo
///     });
///     let mut c = gort::net::TcpStream::connect(addr).unwrap();
///     c.write_all(b"ping").unwrap();
///     let mut back = [0; 4];
///     c.read_exact(&mut back).unwrap();
///     assert_eq!(&back, b"ping");
///     server.join().unwrap();
/// });
/// ```
pub struct TcpListener {
    // Declared first so it drops first: the descriptor must leave epoll before `inner`
    // closes it, or a new socket that reuses the fd number could lose its registration.
    nfd: NetFd,
    inner: std::net::TcpListener,
}

impl TcpListener {
    /// Binds and listens (Go's `net.Listen("tcp", addr)`), with Go's backlog: the kernel's
    /// maximum (`somaxconn`), not std's 128.
    ///
    /// # Errors
    /// As `std::net::TcpListener::bind`.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap(); // port 0: any free port
    ///     let addr = l.local_addr().unwrap();
    ///     assert_ne!(addr.port(), 0);
    ///     let err = gort::net::TcpListener::bind(addr).err().unwrap();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    /// });
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let inner = std::net::TcpListener::bind(addr)?;
        relisten(inner.as_raw_fd())?;
        inner.set_nonblocking(true)?;
        let nfd = NetFd::new(inner.as_raw_fd());
        Ok(TcpListener { inner, nfd })
    }

    /// Waits for a connection. Hitting the descriptor limit (EMFILE) is an error for this
    /// call only; the listener keeps working.
    ///
    /// # Errors
    /// I/O errors, "i/o timeout" after the deadline, or closed.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let client = gort::go(move || gort::net::TcpStream::connect(addr).unwrap());
    ///     let (conn, peer) = l.accept().unwrap(); // parks until the client connects
    ///     let client = client.join().unwrap();
    ///     assert_eq!(peer, client.local_addr().unwrap());
    ///     assert_eq!(conn.peer_addr().unwrap(), peer);
    /// });
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, a) = self
            .nfd
            .io(self.inner.as_raw_fd(), Mode::Read, || self.inner.accept())?;
        s.set_nonblocking(true)?;
        let nfd = NetFd::new(s.as_raw_fd());
        Ok((TcpStream { inner: s, nfd }, a))
    }

    /// The bound address.
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     assert_eq!(addr.ip().to_string(), "127.0.0.1");
    ///     assert_ne!(addr.port(), 0); // the port the kernel chose
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    deadlines! {
        setup: [r#"let s = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();"#],
        read: "s.accept()",
        ready: "let _conn = gort::net::TcpStream::connect(s.local_addr().unwrap()).unwrap();",
        read_shared: "r.accept()",
    }
}

/// A TCP connection (Go's `net.TCPConn`). `&TcpStream` implements `Read` and `Write`, so one
/// goroutine may read while another writes.
///
/// # Examples
/// ```
/// use std::io::{Read, Write};
/// use std::sync::Arc;
/// gort::run(|| {
///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let conn = Arc::new(gort::net::TcpStream::connect(l.local_addr().unwrap()).unwrap());
///     let (mut server, _) = l.accept().unwrap();
///     let c = conn.clone();
///     let reader = gort::go(move || {
///         let mut buf = [0; 4];
///         (&*c).read_exact(&mut buf).unwrap();
///         buf
///     });
///     (&*conn).write_all(b"ping").unwrap(); // while the other goroutine reads
///     server.write_all(b"pong").unwrap();
///     assert_eq!(&reader.join().unwrap(), b"pong");
/// });
/// ```
pub struct TcpStream {
    // Declared first so it drops first: the descriptor must leave epoll before `inner`
    // closes it, or a new socket that reuses the fd number could lose its registration.
    nfd: NetFd,
    inner: std::net::TcpStream,
}

fn wait_connected(
    nfd: &NetFd,
    fd: RawFd,
    probe: impl Fn() -> io::Result<Option<io::Error>>,
) -> io::Result<()> {
    // Non-blocking connect: wait for writability, then read the socket's error. No `reset`
    // here: the connect was started before the descriptor was registered, and its
    // completion may already have been recorded as READY.
    let pd = nfd.pd(fd)?;
    pd.wait(Mode::Write)?;
    match probe()? {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl TcpStream {
    /// Connects, parking the goroutine while the connection is made (Go's `net.Dial("tcp")`).
    /// Tries each address in turn.
    ///
    /// # Errors
    /// The last address's error (e.g. `ConnectionRefused` for a closed port).
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let c = gort::net::TcpStream::connect(addr).unwrap(); // Go's net.Dial("tcp", addr)
    ///     assert_eq!(c.peer_addr().unwrap(), addr);
    ///     drop(l); // nothing listens there any more
    ///     let err = gort::net::TcpStream::connect(addr).err().unwrap();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to");
        for a in addr.to_socket_addrs()? {
            match Self::connect_one(a) {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let m = mio::net::TcpStream::connect(addr)?;
        // SAFETY: the descriptor comes from mio's freshly created socket, whose ownership we
        // take here.
        let inner = unsafe { std::net::TcpStream::from_raw_fd(m.into_raw_fd()) };
        let s = TcpStream {
            inner,
            nfd: NetFd::default(),
        };
        wait_connected(&s.nfd, s.inner.as_raw_fd(), || s.inner.take_error())?;
        // A refused connection can also surface as "not connected" here.
        s.inner.peer_addr()?;
        Ok(s)
    }

    /// Reads without consuming (Go has no equivalent; std's `peek`).
    ///
    /// # Errors
    /// As `read`.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut c = gort::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (mut server, _) = l.accept().unwrap();
    ///     c.write_all(b"x").unwrap();
    ///     let mut buf = [0; 1];
    ///     assert_eq!(server.peek(&mut buf).unwrap(), 1); // parks until data arrives
    ///     assert_eq!(server.peek(&mut buf).unwrap(), 1); // still there
    ///     server.read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"x");
    /// });
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.nfd
            .io(self.inner.as_raw_fd(), Mode::Read, || self.inner.peek(buf))
    }

    /// Shuts down one or both halves (Go's `CloseRead`/`CloseWrite`).
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut c = gort::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (mut server, _) = l.accept().unwrap();
    ///     c.write_all(b"bye").unwrap();
    ///     c.shutdown(Shutdown::Write).unwrap(); // Go's CloseWrite: the peer reads EOF
    ///     let mut got = String::new();
    ///     server.read_to_string(&mut got).unwrap();
    ///     assert_eq!(got, "bye");
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// The peer's address.
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = gort::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (server, _) = l.accept().unwrap();
    ///     assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    ///     assert_eq!(server.peer_addr().unwrap(), c.local_addr().unwrap());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = gort::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (server, peer) = l.accept().unwrap();
    ///     assert_eq!(c.local_addr().unwrap(), peer);
    ///     assert_eq!(server.local_addr().unwrap(), l.local_addr().unwrap());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets TCP_NODELAY. (Go turns it on for every TCP connection; gort leaves the OS default,
    /// so call this where latency matters.)
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// gort::run(|| {
    ///     let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut c = gort::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (mut server, _) = l.accept().unwrap();
    ///     c.set_nodelay(true).unwrap(); // small writes go out at once, as Go's do
    ///     c.write_all(b"x").unwrap();
    ///     let mut buf = [0; 1];
    ///     server.read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"x");
    /// });
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    deadlines! {
        setup: [
            r#"let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();"#,
            "let s = gort::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();",
            "let (peer, _) = l.accept().unwrap();",
        ],
        read: "(&s).read(&mut [0; 8])",
        ready: r#"(&peer).write_all(b"x").unwrap();"#,
        write: r#"(&s).write(b"x")"#,
        read_shared: "(&*r).read(&mut [0; 8])",
    }
}

stream_io!(TcpStream);

/// A UDP socket (Go's `net.UDPConn`).
///
/// # Examples
/// ```
/// gort::run(|| {
///     let a = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"hello", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).unwrap(); // parks until a datagram arrives
///     assert_eq!(&buf[..n], b"hello");
///     assert_eq!(from, a.local_addr().unwrap());
/// });
/// ```
pub struct UdpSocket {
    // Declared first so it drops first: the descriptor must leave epoll before `inner`
    // closes it, or a new socket that reuses the fd number could lose its registration.
    nfd: NetFd,
    inner: std::net::UdpSocket,
}

impl UdpSocket {
    /// Binds a UDP socket.
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let s = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap(); // port 0: any free port
    ///     assert_ne!(s.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let inner = std::net::UdpSocket::bind(addr)?;
        inner.set_nonblocking(true)?;
        let nfd = NetFd::new(inner.as_raw_fd());
        Ok(UdpSocket { inner, nfd })
    }

    /// Sends a datagram to `addr`.
    ///
    /// # Errors
    /// I/O errors, timeout, closed.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let a = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert_eq!(a.send_to(b"hello", b.local_addr().unwrap()).unwrap(), 5);
    ///     let mut buf = [0; 16];
    ///     let (n, _) = b.recv_from(&mut buf).unwrap();
    ///     assert_eq!(&buf[..n], b"hello");
    /// });
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        self.nfd.io(self.inner.as_raw_fd(), Mode::Write, || {
            self.inner.send_to(buf, addr)
        })
    }

    /// Receives a datagram and its sender.
    ///
    /// # Errors
    /// I/O errors, timeout, closed.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let a = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    ///     let sender = gort::go(move || a.send_to(b"ping", b_addr).unwrap());
    ///     let mut buf = [0; 16];
    ///     let (n, from) = b.recv_from(&mut buf).unwrap(); // parks until the datagram arrives
    ///     assert_eq!((&buf[..n], from), (&b"ping"[..], a_addr));
    ///     sender.join().unwrap();
    /// });
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.nfd.io(self.inner.as_raw_fd(), Mode::Read, || {
            self.inner.recv_from(buf)
        })
    }

    /// Connects to a peer (filters received datagrams, enables `send`/`recv`).
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let a = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let stranger = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.connect(b.local_addr().unwrap()).unwrap();
    ///     let a_addr = a.local_addr().unwrap();
    ///     stranger.send_to(b"ignored", a_addr).unwrap(); // not from the peer: dropped
    ///     b.send_to(b"hi", a_addr).unwrap();
    ///     let mut buf = [0; 16];
    ///     let n = a.recv(&mut buf).unwrap();
    ///     assert_eq!(&buf[..n], b"hi");
    /// });
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        self.inner.connect(addr)
    }

    /// Sends to the connected peer.
    ///
    /// # Errors
    /// I/O errors, timeout, closed.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let a = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert!(a.send(b"x").is_err()); // not connected: no destination
    ///     a.connect(b.local_addr().unwrap()).unwrap();
    ///     assert_eq!(a.send(b"hello").unwrap(), 5);
    ///     let mut buf = [0; 16];
    ///     let (n, from) = b.recv_from(&mut buf).unwrap();
    ///     assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr().unwrap()));
    /// });
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.nfd
            .io(self.inner.as_raw_fd(), Mode::Write, || self.inner.send(buf))
    }

    /// Receives from the connected peer.
    ///
    /// # Errors
    /// I/O errors, timeout, closed.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let a = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.connect(b.local_addr().unwrap()).unwrap();
    ///     b.connect(a.local_addr().unwrap()).unwrap();
    ///     b.send(b"pong").unwrap();
    ///     let mut buf = [0; 16];
    ///     let n = a.recv(&mut buf).unwrap(); // parks until the peer's datagram arrives
    ///     assert_eq!(&buf[..n], b"pong");
    /// });
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.nfd
            .io(self.inner.as_raw_fd(), Mode::Read, || self.inner.recv(buf))
    }

    /// Peeks at the next datagram.
    ///
    /// # Errors
    /// I/O errors, timeout, closed.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let a = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.send_to(b"hello", b.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 16];
    ///     let (n, from) = b.peek_from(&mut buf).unwrap();
    ///     assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr().unwrap()));
    ///     let (m, _) = b.recv_from(&mut buf).unwrap(); // the datagram was still queued
    ///     assert_eq!(m, n);
    /// });
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.nfd.io(self.inner.as_raw_fd(), Mode::Read, || {
            self.inner.peek_from(buf)
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// gort::run(|| {
    ///     let s = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let addr = s.local_addr().unwrap();
    ///     assert_eq!(addr.ip().to_string(), "127.0.0.1");
    ///     assert_ne!(addr.port(), 0); // the port the kernel chose
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    deadlines! {
        setup: [
            r#"let s = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();"#,
            r#"let peer = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();"#,
        ],
        read: "s.recv_from(&mut [0; 8])",
        ready: r#"peer.send_to(b"x", s.local_addr().unwrap()).unwrap();"#,
        write: r#"s.send_to(b"x", peer.local_addr().unwrap())"#,
        read_shared: "r.recv_from(&mut [0; 8])",
    }
}

/// A Unix-domain stream listener (Go's `net.UnixListener`).
///
/// # Examples
/// ```
/// use std::io::{Read, Write};
/// let path = std::env::temp_dir().join(format!("gort-doc-unix-{}.sock", std::process::id()));
/// gort::run(move || {
///     let l = gort::net::UnixListener::bind(&path).unwrap();
///     let mut c = gort::net::UnixStream::connect(&path).unwrap();
///     let mut conn = l.accept().unwrap();
///     c.write_all(b"hi").unwrap();
///     let mut buf = [0; 2];
///     conn.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"hi");
///     gort::runtime::blocking(|| std::fs::remove_file(&path)).unwrap();
/// });
/// ```
pub struct UnixListener {
    // Declared first so it drops first: the descriptor must leave epoll before `inner`
    // closes it, or a new socket that reuses the fd number could lose its registration.
    nfd: NetFd,
    inner: unix::UnixListener,
}

impl UnixListener {
    /// Binds and listens on a filesystem path, with Go's backlog (as [`TcpListener::bind`]).
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// let path = std::env::temp_dir().join(format!("gort-doc-bind-{}.sock", std::process::id()));
    /// gort::run(move || {
    ///     let l = gort::net::UnixListener::bind(&path).unwrap(); // creates the socket file
    ///     let err = gort::net::UnixListener::bind(&path).err().unwrap();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse); // the path is taken
    ///     drop(l); // the file stays until removed
    ///     gort::runtime::blocking(|| std::fs::remove_file(&path)).unwrap();
    /// });
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let inner = unix::UnixListener::bind(path)?;
        relisten(inner.as_raw_fd())?;
        inner.set_nonblocking(true)?;
        let nfd = NetFd::new(inner.as_raw_fd());
        Ok(UnixListener { inner, nfd })
    }

    /// Waits for a connection.
    ///
    /// # Errors
    /// I/O errors, timeout, closed.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// let name = format!("gort-doc-accept-{}.sock", std::process::id());
    /// let path = std::env::temp_dir().join(name);
    /// gort::run(move || {
    ///     let l = gort::net::UnixListener::bind(&path).unwrap();
    ///     let p = path.clone();
    ///     let client = gort::go(move || gort::net::UnixStream::connect(&p)?.write_all(b"hi"));
    ///     let mut conn = l.accept().unwrap(); // parks until the client connects
    ///     let mut got = String::new();
    ///     conn.read_to_string(&mut got).unwrap(); // to EOF: the client has gone
    ///     assert_eq!(got, "hi");
    ///     client.join().unwrap().unwrap();
    ///     gort::runtime::blocking(|| std::fs::remove_file(&path)).unwrap();
    /// });
    /// ```
    pub fn accept(&self) -> io::Result<UnixStream> {
        let (s, _) = self
            .nfd
            .io(self.inner.as_raw_fd(), Mode::Read, || self.inner.accept())?;
        s.set_nonblocking(true)?;
        let nfd = NetFd::new(s.as_raw_fd());
        Ok(UnixStream { inner: s, nfd })
    }

    deadlines! {
        setup: [
            r#"let name = format!("gort-doc-{}.sock", std::process::id());"#,
            "let path = std::env::temp_dir().join(name);",
            "let s = gort::net::UnixListener::bind(&path).unwrap();",
        ],
        read: "s.accept()",
        ready: "let _conn = gort::net::UnixStream::connect(&path).unwrap();",
        read_shared: "r.accept()",
        cleanup: "gort::runtime::blocking(|| std::fs::remove_file(&path)).unwrap();",
    }
}

/// A Unix-domain stream connection (Go's `net.UnixConn`).
///
/// # Examples
/// ```
/// use std::io::{Read, Write};
/// gort::run(|| {
///     let (mut a, mut b) = gort::net::UnixStream::pair().unwrap();
///     let echo = gort::go(move || {
///         let mut buf = [0; 4];
///         b.read_exact(&mut buf).unwrap();
///         b.write_all(&buf).unwrap();
///     });
///     a.write_all(b"ping").unwrap();
///     let mut buf = [0; 4];
///     a.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"ping");
///     echo.join().unwrap();
/// });
/// ```
pub struct UnixStream {
    // Declared first so it drops first: the descriptor must leave epoll before `inner`
    // closes it, or a new socket that reuses the fd number could lose its registration.
    nfd: NetFd,
    inner: unix::UnixStream,
}

impl UnixStream {
    /// Connects to a listener at `path`.
    ///
    /// # Errors
    /// As `std` (e.g. `NotFound`, `ConnectionRefused`).
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// let name = format!("gort-doc-connect-{}.sock", std::process::id());
    /// let path = std::env::temp_dir().join(name);
    /// gort::run(move || {
    ///     let err = gort::net::UnixStream::connect(&path).err().unwrap();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound); // nothing listens there yet
    ///     let l = gort::net::UnixListener::bind(&path).unwrap();
    ///     let mut c = gort::net::UnixStream::connect(&path).unwrap();
    ///     c.write_all(b"hi").unwrap();
    ///     let mut buf = [0; 2];
    ///     l.accept().unwrap().read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"hi");
    ///     gort::runtime::blocking(|| std::fs::remove_file(&path)).unwrap();
    /// });
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let m = mio::net::UnixStream::connect(path)?;
        // SAFETY: the descriptor comes from mio's freshly created socket, whose ownership we
        // take here.
        let inner = unsafe { unix::UnixStream::from_raw_fd(m.into_raw_fd()) };
        let s = UnixStream {
            inner,
            nfd: NetFd::default(),
        };
        wait_connected(&s.nfd, s.inner.as_raw_fd(), || s.inner.take_error())?;
        Ok(s)
    }

    /// A connected pair (Go's `socketpair` use).
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// gort::run(|| {
    ///     let (mut a, mut b) = gort::net::UnixStream::pair().unwrap();
    ///     a.write_all(b"ping").unwrap();
    ///     let mut buf = [0; 4];
    ///     b.read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"ping");
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = unix::UnixStream::pair()?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        let (na, nb) = (NetFd::new(a.as_raw_fd()), NetFd::new(b.as_raw_fd()));
        Ok((
            UnixStream { inner: a, nfd: na },
            UnixStream { inner: b, nfd: nb },
        ))
    }

    /// Shuts down one or both halves.
    ///
    /// # Errors
    /// As `std`.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// gort::run(|| {
    ///     let (mut a, mut b) = gort::net::UnixStream::pair().unwrap();
    ///     a.write_all(b"bye").unwrap();
    ///     a.shutdown(Shutdown::Write).unwrap(); // the peer reads EOF
    ///     let mut got = String::new();
    ///     b.read_to_string(&mut got).unwrap();
    ///     assert_eq!(got, "bye");
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    deadlines! {
        setup: ["let (s, peer) = gort::net::UnixStream::pair().unwrap();"],
        read: "(&s).read(&mut [0; 8])",
        ready: r#"(&peer).write_all(b"x").unwrap();"#,
        write: r#"(&s).write(b"x")"#,
        read_shared: "(&*r).read(&mut [0; 8])",
    }
}

stream_io!(UnixStream);
