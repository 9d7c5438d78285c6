//! File-system helpers that run their system calls through [`crate::runtime::blocking`], so a
//! slow disk blocks only the calling goroutine: its P is handed to another M if the call takes
//! long. (Go's os package does the same through entersyscall/exitsyscall.)

use crate::runtime::blocking;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Reads a whole file (`std::fs::read` as a blocking call).
///
/// # Errors
/// As `std::fs::read`.
///
/// # Examples
/// ```
/// let path = std::env::temp_dir().join(format!("gort-doc-read-{}", std::process::id()));
/// let p = path.clone();
/// gort::run(move || {
///     gort::fs::write(&p, [1, 2, 3]).unwrap();
///     assert_eq!(gort::fs::read(&p).unwrap(), [1, 2, 3]);
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    blocking(|| std::fs::read(path))
}

/// Reads a whole file as UTF-8.
///
/// # Errors
/// As `std::fs::read_to_string`.
///
/// # Examples
/// ```
/// let path = std::env::temp_dir().join(format!("gort-doc-read-str-{}", std::process::id()));
/// let p = path.clone();
/// gort::run(move || {
///     gort::fs::write(&p, "hello, gopher").unwrap();
///     assert_eq!(gort::fs::read_to_string(&p).unwrap(), "hello, gopher");
///     let err = gort::fs::read_to_string(p.with_extension("missing")).unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    blocking(|| std::fs::read_to_string(path))
}

/// Writes a whole file, creating or truncating it.
///
/// # Errors
/// As `std::fs::write`.
///
/// # Examples
/// ```
/// let path = std::env::temp_dir().join(format!("gort-doc-write-{}", std::process::id()));
/// let p = path.clone();
/// gort::run(move || {
///     gort::fs::write(&p, "a long first version").unwrap();
///     gort::fs::write(&p, "short").unwrap(); // truncates
///     assert_eq!(gort::fs::read_to_string(&p).unwrap(), "short");
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    blocking(|| std::fs::write(path, contents))
}

/// An open file whose reads, writes and seeks are blocking calls.
///
/// # Examples
/// ```
/// use std::io::{Read, Seek, SeekFrom, Write};
/// let path = std::env::temp_dir().join(format!("gort-doc-file-{}", std::process::id()));
/// let p = path.clone();
/// gort::run(move || {
///     let mut f = gort::fs::File::create(&p).unwrap();
///     f.write_all(b"hello, gopher").unwrap();
///     let mut f = gort::fs::File::open(&p).unwrap();
///     f.seek(SeekFrom::Start(7)).unwrap();
///     let mut s = String::new();
///     f.read_to_string(&mut s).unwrap();
///     assert_eq!(s, "gopher");
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct File {
    inner: std::fs::File,
}

impl File {
    /// Opens a file for reading.
    ///
    /// # Errors
    /// As `std::fs::File::open`.
    ///
    /// # Examples
    /// ```
    /// use std::io::Read;
    /// let path = std::env::temp_dir().join(format!("gort-doc-open-{}", std::process::id()));
    /// let p = path.clone();
    /// gort::run(move || {
    ///     let err = gort::fs::File::open(&p).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     gort::fs::write(&p, "hi").unwrap();
    ///     let mut s = String::new();
    ///     gort::fs::File::open(&p).unwrap().read_to_string(&mut s).unwrap();
    ///     assert_eq!(s, "hi");
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        blocking(|| std::fs::File::open(path)).map(|inner| File { inner })
    }

    /// Creates (or truncates) a file for writing.
    ///
    /// # Errors
    /// As `std::fs::File::create`.
    ///
    /// # Examples
    /// ```
    /// use std::io::Write;
    /// let path = std::env::temp_dir().join(format!("gort-doc-create-{}", std::process::id()));
    /// let p = path.clone();
    /// gort::run(move || {
    ///     gort::fs::write(&p, "old contents").unwrap();
    ///     let mut f = gort::fs::File::create(&p).unwrap(); // truncates
    ///     f.write_all(b"new").unwrap();
    ///     assert_eq!(gort::fs::read_to_string(&p).unwrap(), "new");
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        blocking(|| std::fs::File::create(path)).map(|inner| File { inner })
    }

    /// Flushes data and metadata to the device.
    ///
    /// # Errors
    /// As `std::fs::File::sync_all`.
    ///
    /// # Examples
    /// ```
    /// use std::io::Write;
    /// let path = std::env::temp_dir().join(format!("gort-doc-sync-{}", std::process::id()));
    /// let p = path.clone();
    /// gort::run(move || {
    ///     let mut f = gort::fs::File::create(&p).unwrap();
    ///     f.write_all(b"durable").unwrap();
    ///     f.sync_all().unwrap(); // Go's f.Sync()
    ///     assert_eq!(gort::fs::read(&p).unwrap(), b"durable");
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn sync_all(&self) -> io::Result<()> {
        blocking(|| self.inner.sync_all())
    }

    /// The underlying std file.
    ///
    /// # Examples
    /// ```
    /// use std::io::Write;
    /// let path = std::env::temp_dir().join(format!("gort-doc-std-{}", std::process::id()));
    /// let p = path.clone();
    /// let f = gort::run(move || {
    ///     let mut f = gort::fs::File::create(&p).unwrap();
    ///     f.write_all(b"12345").unwrap();
    ///     f.into_std()
    /// });
    /// // Outside the runtime, std's blocking calls are fine.
    /// assert_eq!(f.metadata().unwrap().len(), 5);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn into_std(self) -> std::fs::File {
        self.inner
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        blocking(|| self.inner.read(buf))
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        blocking(|| self.inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        blocking(|| self.inner.flush())
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        blocking(|| self.inner.seek(pos))
    }
}
