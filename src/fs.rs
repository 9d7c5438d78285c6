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
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    blocking(|| std::fs::read(path))
}

/// Reads a whole file as UTF-8.
///
/// # Errors
/// As `std::fs::read_to_string`.
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    blocking(|| std::fs::read_to_string(path))
}

/// Writes a whole file, creating or truncating it.
///
/// # Errors
/// As `std::fs::write`.
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    blocking(|| std::fs::write(path, contents))
}

/// An open file whose reads, writes and seeks are blocking calls.
#[derive(Debug)]
pub struct File {
    inner: std::fs::File,
}

impl File {
    /// Opens a file for reading.
    ///
    /// # Errors
    /// As `std::fs::File::open`.
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        blocking(|| std::fs::File::open(path)).map(|inner| File { inner })
    }

    /// Creates (or truncates) a file for writing.
    ///
    /// # Errors
    /// As `std::fs::File::create`.
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        blocking(|| std::fs::File::create(path)).map(|inner| File { inner })
    }

    /// Flushes data and metadata to the device.
    ///
    /// # Errors
    /// As `std::fs::File::sync_all`.
    pub fn sync_all(&self) -> io::Result<()> {
        blocking(|| self.inner.sync_all())
    }

    /// The underlying std file.
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
