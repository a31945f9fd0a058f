//! `BlobFile`: a blob stored uncompressed in a local file (a directory, or a member of an
//! uncompressed tar read in place). Readers use positional reads, so any number of them
//! can work on one blob at once: one hashes it while another walks its tar headers.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct BlobFile {
    file: Arc<File>,
    start: u64,
    len: u64,
}

impl BlobFile {
    pub(crate) fn new(file: File, start: u64, len: u64) -> Self {
        BlobFile {
            file: Arc::new(file),
            start,
            len,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An independent reader positioned at the start of the blob.
    pub fn reader(&self) -> BlobFileReader {
        BlobFileReader {
            blob: self.clone(),
            pos: 0,
        }
    }
}

pub struct BlobFileReader {
    blob: BlobFile,
    pos: u64,
}

impl Read for BlobFileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = self.blob.len.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.blob.file.read_at(&mut buf[..want], self.blob.start + self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobFileReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.blob.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the blob start"))?;
        self.pos = target;
        Ok(target)
    }
}
