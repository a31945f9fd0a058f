//! Limits that keep a hostile layer from exhausting memory or time. Contents always
//! stream, so memory is bounded by the file count; what a small blob can still do is
//! expand without end (a decompression bomb) or make the tar reader buffer one huge
//! "name". Both are stopped here with an error that says which limit tripped and how to
//! raise it. `docs/security.md` documents the figures.

use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

/// How far a compressed layer may expand before it is taken for a bomb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A compressed layer may produce at most this many times its stored size, or
    /// [`EXPANSION_FLOOR`], whichever is more; `None` turns the check off.
    pub max_expansion: Option<u64>,
}

/// Real layers expand 2-10x; a layer of zero-filled files can reach gzip's ceiling of
/// about 1,000x, but not at this size. Stored uncompressed layers are not checked.
pub const DEFAULT_MAX_EXPANSION: u64 = 250;
/// Any layer may expand to 1 GiB, however small its blob.
pub const EXPANSION_FLOOR: u64 = 1 << 30;
/// Tar metadata read for one entry (GNU long names, PAX records, sparse maps). Linux
/// paths are at most 4 KiB per system call; a real layer needs a few KiB here, and a
/// reader that buffers names cannot be made to buffer gigabytes.
pub const MAX_ENTRY_METADATA: u64 = 16 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_expansion: Some(DEFAULT_MAX_EXPANSION),
        }
    }
}

impl Limits {
    /// The most uncompressed bytes a blob of `stored` bytes may produce.
    pub fn max_uncompressed(&self, stored: u64) -> Option<u64> {
        self.max_expansion
            .map(|ratio| ratio.saturating_mul(stored).max(EXPANSION_FLOOR))
    }
}

/// Fails the stream once it has produced more than `limit` bytes, and remembers that it
/// did, so the caller can tell a tripped limit from a broken stream.
pub(crate) struct ExpansionGuard<R> {
    inner: R,
    produced: u64,
    limit: Option<u64>,
    tripped: bool,
}

impl<R> ExpansionGuard<R> {
    pub fn new(inner: R, limit: Option<u64>) -> Self {
        ExpansionGuard {
            inner,
            produced: 0,
            limit,
            tripped: false,
        }
    }

    /// The limit, if the stream went past it.
    pub fn tripped(&self) -> Option<u64> {
        self.limit.filter(|_| self.tripped)
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for ExpansionGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tripped {
            return Err(io::Error::other("the expansion limit was reached"));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if let Some(limit) = self.limit
            && self.produced > limit
        {
            self.tripped = true;
            return Err(io::Error::other(format!("the stream expands past {limit} bytes")));
        }
        Ok(n)
    }
}

/// Counts the bytes the tar reader takes on its own between two entries: headers,
/// padding and extension records. The walk pauses it while it reads an entry's content
/// and resets it before asking for the next entry.
#[derive(Clone, Default)]
pub(crate) struct MetadataBudget(Rc<Budget>);

#[derive(Default)]
struct Budget {
    used: Cell<u64>,
    paused: Cell<bool>,
}

impl MetadataBudget {
    /// The walk has an entry: what is read now is its content.
    pub fn pause(&self) {
        self.0.paused.set(true);
    }

    /// The walk is done with an entry: count afresh what the next one needs.
    pub fn reset(&self) {
        self.0.used.set(0);
        self.0.paused.set(false);
    }

    pub fn reader<R>(&self, inner: R) -> Metered<R> {
        Metered {
            inner,
            budget: self.clone(),
        }
    }
}

pub(crate) struct Metered<R> {
    inner: R,
    budget: MetadataBudget,
}

impl<R> Metered<R> {
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let budget = &self.budget.0;
        if !budget.paused.get() {
            let used = budget.used.get() + n as u64;
            budget.used.set(used);
            if used > MAX_ENTRY_METADATA {
                return Err(io::Error::other(format!(
                    "more than {} MiB of tar metadata (long names, PAX records or sparse maps) \
                     for one entry: not a layer any tool writes",
                    MAX_ENTRY_METADATA >> 20
                )));
            }
        }
        Ok(n)
    }
}

impl<R: Seek> Seek for Metered<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_limit_has_a_floor_and_can_be_off() {
        let limits = Limits::default();
        assert_eq!(limits.max_uncompressed(1000), Some(EXPANSION_FLOOR));
        assert_eq!(limits.max_uncompressed(10 << 30), Some(2500 << 30));
        assert_eq!(Limits { max_expansion: None }.max_uncompressed(1), None);
    }

    #[test]
    fn the_guard_stops_past_the_limit_and_stays_stopped() {
        let mut guard = ExpansionGuard::new(io::repeat(0), Some(10_000));
        let err = io::copy(&mut guard, &mut io::sink()).unwrap_err();
        assert!(err.to_string().contains("10000"), "{err}");
        assert_eq!(guard.tripped(), Some(10_000));
        assert!(guard.read(&mut [0u8; 4]).is_err());
    }

    #[test]
    fn the_budget_counts_until_reset() {
        let budget = MetadataBudget::default();
        let mut reader = budget.reader(io::repeat(0));
        let mut buf = vec![0u8; 1 << 20];
        for _ in 0..16 {
            reader.read_exact(&mut buf).unwrap();
        }
        budget.pause();
        for _ in 0..100 {
            reader.read_exact(&mut buf).unwrap();
        }
        budget.reset();
        for _ in 0..16 {
            reader.read_exact(&mut buf).unwrap();
        }
        assert!(reader.read_exact(&mut buf).is_err());
    }
}
