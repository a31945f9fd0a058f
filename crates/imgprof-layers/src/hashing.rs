//! A reader that hashes and counts what passes through it, so digests are checked on the
//! stream itself rather than on a second read.

use std::io::{self, Read};

use imgprof_source::Digest;
use sha2::{Digest as _, Sha256};

pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    hashing: bool,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            hashing: true,
            bytes: 0,
        }
    }

    /// Stops hashing (bytes are still counted): for a stream whose digest another
    /// `HashingReader` computes over the very same bytes.
    pub fn stop_hashing(&mut self) {
        self.hashing = false;
    }

    /// Whether the digest `finish` returns covers the whole stream.
    pub fn is_hashing(&self) -> bool {
        self.hashing
    }

    /// Reads what is left, so the digest covers the whole stream.
    pub fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }

    pub fn finish(self) -> (R, Digest, u64) {
        (
            self.inner,
            Digest::from_sha256(self.hasher.finalize().into()),
            self.bytes,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.hashing {
            self.hasher.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}
