//! The streaming walk: blob bytes -> sha256 -> decompress -> sha256 -> tar entries ->
//! `LayerIndex`. Nothing is written to disk and no file's content is held in memory.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use imgprof_source::{BlobFile, Digest};
use sha2::{Digest as _, Sha256};

use crate::compression::{Compression, Decoder, sniff};
use crate::error::LayerError;
use crate::hashing::HashingReader;
use crate::index::{CapturedFile, Entry, EntryKind, LayerIndex};
use crate::limits::{ExpansionGuard, MetadataBudget};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const BUFFER: usize = 256 * 1024;
/// Small enough that skipping a large file wastes little, large enough to hold many
/// headers and small files.
const SKIM_BUFFER: usize = 16 * 1024;
/// Fits in L2 beside the hash state: the copy from the page cache stays in cache.
const HASH_BUFFER: usize = 64 * 1024;

/// What a layer blob must match, and how to name it in errors.
#[derive(Debug, Clone, Copy)]
pub struct LayerExpectation<'a> {
    /// Names the blob in messages, e.g. `app.tar:blobs/sha256/ab12...`.
    pub location: &'a str,
    /// Digest of the stored blob, when the source records one.
    pub digest: Option<&'a Digest>,
    pub diff_id: &'a Digest,
    /// Which files' contents to keep (see [`CapturePolicy`]).
    pub capture: CapturePolicy,
    /// The most bytes a compressed blob may expand to (see [`crate::Limits`]).
    pub max_uncompressed: Option<u64>,
}

/// Says, for a normalised path, how many leading bytes of a regular file's content to
/// keep in the index (`None`: none). Later analyses read package databases, configs and
/// file headers from these captures instead of the layer.
pub type CapturePolicy = fn(&str) -> Option<u64>;

/// What one pass over a layer's entries produced.
pub(crate) struct Walked {
    entries: Vec<Entry>,
    captured: Vec<CapturedFile>,
    absolute_paths: u64,
    /// Skimmed walks only: where each entry's content starts in the blob (0 for entries
    /// without content), so files whose size collides can be hashed afterwards.
    content_offsets: Vec<u64>,
}

/// Streams one layer blob into a `LayerIndex`, verifying both digests. On any error
/// nothing of the layer is returned. The blob is read and hashed on one thread, inflated
/// on a second, and its tar hashed and walked on this one, so a large compressed layer
/// costs about its inflate time, not the sum of the three.
pub fn index_layer(blob: impl Read + Send, expect: LayerExpectation<'_>) -> Result<LayerIndex, LayerError> {
    let location = expect.location;
    let mut compressed = BufReader::with_capacity(BUFFER, HashingReader::new(blob));
    let compression = sniff(&mut compressed).map_err(|source| LayerError::Read {
        location: location.to_owned(),
        stage: "read",
        source,
    })?;
    let limit = expect.max_uncompressed.filter(|_| compression != Compression::None);
    let decode_error = |source| LayerError::Read {
        location: location.to_owned(),
        stage: compression.name(),
        source,
    };
    if compression == Compression::None {
        // Blob and tar stream are the same bytes: hash them once, as the diff_id.
        compressed.get_mut().stop_hashing();
    }
    let hashed = compressed.get_ref().is_hashing();
    let stage = match compression {
        Compression::None => "tar",
        other => other.name(),
    };
    std::thread::scope(|scope| {
        let (blob_bytes, reader) = crate::pipe::spawn(scope, compressed);
        let decoder = Decoder::new(compression, blob_bytes).map_err(decode_error)?;
        let (tar_bytes, inflater) = crate::pipe::spawn(scope, ExpansionGuard::new(decoder, limit));
        let (tar, _) = walk_tar(tar_bytes, &expect, stage);
        // The inflater stopped once the tar stream was read to its end or failed; what
        // the decoder left of the blob is read through, so the digest covers all of it.
        let guard = joined(inflater);
        let tripped = guard.tripped();
        let mut rest = guard.into_inner().into_inner();
        let compressed_drained = io::copy(&mut rest, &mut io::sink()).map(drop);
        drop(rest);
        let (_, digest, compressed_bytes) = joined(reader).into_inner().finish();
        let digest = if hashed { digest } else { tar.diff_id.clone() };
        Streamed {
            compression,
            tar,
            tripped,
            compressed_drained,
            digest,
            compressed_bytes,
        }
        .into_index(&expect, hashed)
    })
}

fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A tar stream walked, hashed and read to its end.
struct WalkedTar {
    walked: Result<Walked, LayerError>,
    drained: io::Result<()>,
    diff_id: Digest,
    tar_bytes: u64,
}

/// Walks the tar `stream` (`stage` names it in errors), hashing it, then reads it to its
/// end: after a failed walk the stream is still hashed through, so a corrupted blob is
/// reported as a digest mismatch rather than as whatever the corruption broke first.
/// Gives `stream` back.
fn walk_tar<R: Read>(stream: R, expect: &LayerExpectation<'_>, stage: &'static str) -> (WalkedTar, R) {
    let budget = MetadataBudget::default();
    let mut archive = tar::Archive::new(budget.reader(BufReader::with_capacity(BUFFER, HashingReader::new(stream))));
    let walked = archive
        .entries()
        .map_err(|source| LayerError::Read {
            location: expect.location.to_owned(),
            stage,
            source,
        })
        .and_then(|entries| walk(entries, expect, stage, None, &budget));
    let mut uncompressed = archive.into_inner().into_inner().into_inner();
    let drained = uncompressed.drain();
    let (stream, diff_id, tar_bytes) = uncompressed.finish();
    let tar = WalkedTar {
        walked,
        drained,
        diff_id,
        tar_bytes,
    };
    (tar, stream)
}

/// Everything one pass over a blob found, before the digests are judged.
struct Streamed {
    compression: Compression,
    tar: WalkedTar,
    /// The expansion limit, if the stream went past it.
    tripped: Option<u64>,
    compressed_drained: io::Result<()>,
    digest: Digest,
    compressed_bytes: u64,
}

impl Streamed {
    /// The index, once both digests match; `hashed`: `digest` covers the whole blob.
    fn into_index(self, expect: &LayerExpectation<'_>, hashed: bool) -> Result<LayerIndex, LayerError> {
        let location = expect.location;
        let stage = match self.compression {
            Compression::None => "tar",
            other => other.name(),
        };
        let read_error = |stage: &'static str| {
            move |source: io::Error| LayerError::Read {
                location: location.to_owned(),
                stage,
                source,
            }
        };
        let WalkedTar {
            walked,
            drained,
            diff_id,
            tar_bytes,
        } = self.tar;
        if let Some(expected) = expect.digest
            && self.compressed_drained.is_ok()
            && (hashed || drained.is_ok())
        {
            check_digest(location, "blob digest", expected, &self.digest)?;
        }
        if let Some(limit) = self.tripped {
            return Err(LayerError::ExpansionLimit {
                location: location.to_owned(),
                stage,
                limit,
                stored: self.compressed_bytes,
            });
        }
        let walked = walked?;
        drained.map_err(read_error(stage))?;
        self.compressed_drained.map_err(read_error("read"))?;
        check_digest(location, "uncompressed content (diff_id)", expect.diff_id, &diff_id)?;
        Ok(LayerIndex {
            compression: self.compression,
            compressed_bytes: self.compressed_bytes,
            tar_bytes,
            digest: self.digest,
            diff_id,
            entries: walked.entries,
            captured: walked.captured,
            absolute_paths: walked.absolute_paths,
        })
    }
}

/// Whether a local blob is an uncompressed tar (what `docker save` writes), judged from
/// its first bytes.
pub(crate) fn is_uncompressed(blob: &BlobFile) -> io::Result<bool> {
    let mut head = BufReader::with_capacity(64, blob.reader());
    Ok(sniff(&mut head)? == Compression::None)
}

/// Walks an uncompressed local blob's tar headers, seeking past contents. Its digest is
/// computed separately (`sha256_of`) and checked by `verify_digest`.
pub(crate) fn skim_layer(blob: &BlobFile, expect: &LayerExpectation<'_>) -> Result<Walked, LayerError> {
    let budget = MetadataBudget::default();
    let mut archive = tar::Archive::new(budget.reader(Skimmer(BufReader::with_capacity(SKIM_BUFFER, blob.reader()))));
    archive
        .entries_with_seek()
        .map_err(|source| LayerError::Read {
            location: expect.location.to_owned(),
            stage: "tar",
            source,
        })
        .and_then(|entries| walk(entries, expect, "tar", Some(blob.len()), &budget))
}

/// Checks a skimmed blob's sha256 against its descriptor digest and diff_id (for an
/// uncompressed blob both name the same bytes).
pub(crate) fn verify_digest(expect: &LayerExpectation<'_>, hashed: io::Result<Digest>) -> Result<(), LayerError> {
    let location = expect.location;
    let digest = hashed.map_err(|source| LayerError::Read {
        location: location.to_owned(),
        stage: "read",
        source,
    })?;
    if let Some(expected) = expect.digest {
        check_digest(location, "blob digest", expected, &digest)?;
    }
    check_digest(location, "uncompressed content (diff_id)", expect.diff_id, &digest)
}

pub(crate) fn check_digest(
    location: &str,
    what: &'static str,
    expected: &Digest,
    actual: &Digest,
) -> Result<(), LayerError> {
    if expected == actual {
        return Ok(());
    }
    Err(LayerError::DigestMismatch {
        location: location.to_owned(),
        what,
        expected: expected.clone(),
        actual: actual.clone(),
    })
}

impl Walked {
    /// The index of an uncompressed blob of `len` bytes, with the digests it must have.
    pub(crate) fn into_index(self, len: u64, expect: &LayerExpectation<'_>) -> LayerIndex {
        LayerIndex {
            compression: Compression::None,
            compressed_bytes: len,
            tar_bytes: len,
            digest: expect.digest.unwrap_or(expect.diff_id).clone(),
            diff_id: expect.diff_id.clone(),
            entries: self.entries,
            captured: self.captured,
            absolute_paths: self.absolute_paths,
        }
    }
}

pub(crate) fn sha256_of(mut reader: impl Read) -> io::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUFFER];
    loop {
        match reader.read(&mut buf)? {
            0 => return Ok(Digest::from_sha256(hasher.finalize().into())),
            n => hasher.update(&buf[..n]),
        }
    }
}

/// A buffered reader whose relative seeks stay inside the buffer when they can, so
/// skipping a small file's content costs no read.
struct Skimmer<R>(BufReader<R>);

impl<R: Read> Read for Skimmer<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read + Seek> Seek for Skimmer<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match pos {
            SeekFrom::Current(offset) => {
                self.0.seek_relative(offset)?;
                self.0.stream_position()
            }
            other => self.0.seek(other),
        }
    }
}

/// Records every entry. Without `skip_within`, each entry's content is read through (the
/// stream is being hashed). With `skip_within: Some(len)` the archive seeks past contents,
/// and each content must end within the blob's `len` bytes: a seek past the end would
/// otherwise pass a truncated layer for a complete one.
fn walk<R: Read>(
    entries: tar::Entries<'_, R>,
    expect: &LayerExpectation<'_>,
    stage: &'static str,
    skip_within: Option<u64>,
    budget: &MetadataBudget,
) -> Result<Walked, LayerError> {
    let location = expect.location;
    let read_error = |source: io::Error| LayerError::Read {
        location: location.to_owned(),
        stage,
        source,
    };
    let mut walked = Walked {
        entries: Vec::new(),
        captured: Vec::new(),
        absolute_paths: 0,
        content_offsets: Vec::new(),
    };
    let mut buf = vec![0u8; 64 << 10];
    for entry in entries {
        let mut entry = entry.map_err(|error| read_error(header_error(error, walked.entries.len())))?;
        budget.pause();
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut record = entry_record(&mut entry, location, &mut walked.absolute_paths)?;
        if let Some(record) = &record
            && record.kind == EntryKind::File
            && let Some(limit) = (expect.capture)(&record.path)
        {
            let mut content = Vec::new();
            (&mut entry).take(limit).read_to_end(&mut content).map_err(read_error)?;
            hasher.update(&content);
            walked.captured.push(CapturedFile {
                entry: walked.entries.len() as u32,
                content,
            });
        }
        match skip_within {
            None => {
                // The content streams past anyway: hash it for duplicate detection.
                xxh3_rest(&mut entry, &mut buf, &mut hasher).map_err(read_error)?;
                if let Some(record) = &mut record
                    && record.kind == EntryKind::File
                    && record.size > 0
                {
                    record.hash = nonzero_hash(hasher.digest());
                }
            }
            Some(len) => {
                let end = entry.raw_file_position().saturating_add(entry.size());
                if end > len {
                    return Err(read_error(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "entry {:?} ends at byte {end}, past the end of the blob ({len} bytes)",
                            String::from_utf8_lossy(&entry.path_bytes())
                        ),
                    )));
                }
                if record.is_some() {
                    walked.content_offsets.push(entry.raw_file_position());
                }
            }
        }
        if let Some(record) = record {
            walked.entries.push(record);
        }
        budget.reset();
    }
    Ok(walked)
}

/// The tar reader's complaint about a header, without the header bytes it quotes (which
/// for a stream that is no tar are binary noise).
fn header_error(error: io::Error, entries_before: usize) -> io::Error {
    if error.kind() != io::ErrorKind::Other {
        return error;
    }
    let text = error.to_string();
    let reason = text.split(':').next().unwrap_or(&text).trim();
    io::Error::other(format!("malformed tar header after {entries_before} entries: {reason}"))
}

/// Feeds what is left of `reader` to `hasher`, through `buf`.
fn xxh3_rest(mut reader: impl Read, buf: &mut [u8], hasher: &mut xxhash_rust::xxh3::Xxh3) -> io::Result<()> {
    loop {
        match reader.read(buf)? {
            0 => return Ok(()),
            n => hasher.update(&buf[..n]),
        }
    }
}

/// Content hashes are never 0, which marks "not computed".
fn nonzero_hash(hash: u64) -> u64 {
    hash.max(1)
}

impl Walked {
    /// Hashes the content of every file whose size is in `sizes` (sizes shared with some
    /// other file), reading it from the blob at the offset the walk recorded.
    pub(crate) fn hash_colliding(&mut self, blob: &BlobFile, sizes: &std::collections::HashSet<u64>) -> io::Result<()> {
        let mut buf = vec![0u8; 64 << 10];
        // Contents come in tar order: one buffered reader moving forward reads a layer of
        // many small colliding files in large reads, not one read per file.
        let mut reader = BufReader::with_capacity(1 << 20, blob.reader());
        let mut at = 0u64;
        for (entry, &offset) in self.entries.iter_mut().zip(&self.content_offsets) {
            if entry.kind != EntryKind::File || entry.size == 0 || !sizes.contains(&entry.size) {
                continue;
            }
            match offset.checked_sub(at).and_then(|gap| i64::try_from(gap).ok()) {
                Some(gap) => reader.seek_relative(gap)?,
                None => {
                    reader.seek(SeekFrom::Start(offset))?;
                }
            }
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            xxh3_rest((&mut reader).take(entry.size), &mut buf, &mut hasher)?;
            at = offset + entry.size;
            entry.hash = nonzero_hash(hasher.digest());
        }
        self.content_offsets = Vec::new();
        Ok(())
    }

    /// Sizes of the regular files this walk has not hashed.
    pub(crate) fn unhashed_sizes(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries
            .iter()
            .filter(|e| e.kind == EntryKind::File && e.size > 0 && e.hash == 0)
            .map(|e| e.size)
    }
}

pub(crate) fn entry_record<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    location: &str,
    absolute_paths: &mut u64,
) -> Result<Option<Entry>, LayerError> {
    use tar::EntryType as T;
    if let Some(records) = entry.pax_extensions().map_err(|source| LayerError::Read {
        location: location.to_owned(),
        stage: "tar",
        source,
    })? {
        for record in records {
            if let Err(error) = record {
                return Err(LayerError::BadEntry {
                    location: location.to_owned(),
                    path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                    reason: format!("malformed PAX header: {error}"),
                });
            }
        }
    }
    let header = entry.header();
    // Borrowed, not copied, for the common name that needs no normalising: a million-file
    // layer is a million of these.
    let path_bytes = entry.path_bytes();
    let raw_name = String::from_utf8_lossy(&path_bytes);
    let normalized = normalized(&raw_name).map_err(|reason| LayerError::BadEntry {
        location: location.to_owned(),
        path: raw_name.to_string(),
        reason,
    })?;
    if raw_name.starts_with('/') {
        *absolute_paths += 1;
    }
    let (parent, name) = match normalized.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", &*normalized),
    };
    let kind = match header.entry_type() {
        T::XGlobalHeader => return Ok(None),
        _ if name == OPAQUE_MARKER => EntryKind::OpaqueWhiteout,
        _ if name.starts_with(WHITEOUT_PREFIX) => EntryKind::Whiteout,
        // Old tars mark directories as regular files with a trailing slash.
        T::Regular if raw_name.ends_with('/') => EntryKind::Dir,
        T::Regular | T::Continuous | T::GNUSparse => EntryKind::File,
        T::Directory => EntryKind::Dir,
        T::Symlink => EntryKind::Symlink,
        T::Link => EntryKind::HardLink,
        T::Char => EntryKind::CharDevice,
        T::Block => EntryKind::BlockDevice,
        T::Fifo => EntryKind::Fifo,
        other => {
            return Err(LayerError::BadEntry {
                location: location.to_owned(),
                path: raw_name.into_owned(),
                reason: format!("unsupported tar entry type {:?}", other.as_byte() as char),
            });
        }
    };
    let path: Box<str> = match kind {
        EntryKind::OpaqueWhiteout => parent.into(),
        EntryKind::Whiteout => {
            let target = &name[WHITEOUT_PREFIX.len()..];
            if target.is_empty() {
                return Err(LayerError::BadEntry {
                    location: location.to_owned(),
                    path: raw_name.into_owned(),
                    reason: "whiteout names no file".to_owned(),
                });
            }
            if parent.is_empty() {
                target.into()
            } else {
                format!("{parent}/{target}").into()
            }
        }
        _ => (*normalized).into(),
    };
    let link = match kind {
        EntryKind::Symlink => entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned().into_boxed_str()),
        EntryKind::HardLink => {
            let target = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned());
            let target = target.unwrap_or_default();
            let normalized_target = normalize_path(&target).map_err(|reason| LayerError::BadEntry {
                location: location.to_owned(),
                path: raw_name.to_string(),
                reason: format!("hard link target {target:?}: {reason}"),
            })?;
            Some(normalized_target.into_boxed_str())
        }
        _ => None,
    };
    Ok(Some(Entry {
        path,
        kind,
        size: entry.size(),
        mode: header.mode().unwrap_or(0),
        uid: owner_id(header.uid(), &header.as_old().uid),
        gid: owner_id(header.gid(), &header.as_old().gid),
        hash: 0,
        link,
    }))
}

/// A uid or gid field: an empty one (all NUL or spaces, as writers that never set it leave
/// it) is 0, as Go's archive/tar, and so Docker and containerd, read it; one that does not
/// parse is `u32::MAX`.
fn owner_id(parsed: io::Result<u64>, field: &[u8]) -> u32 {
    match parsed {
        Ok(id) => u32::try_from(id).unwrap_or(u32::MAX),
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => 0,
        Err(_) => u32::MAX,
    }
}

/// Normalises a tar entry name to a path relative to the image root. Absolute names are
/// taken relative to the root, as container runtimes do; a `..` that climbs above the root
/// is refused, as Docker refuses to apply such a layer.
pub fn normalize_path(raw: &str) -> Result<String, String> {
    normalized(raw).map(std::borrow::Cow::into_owned)
}

/// [`normalize_path`], borrowing `raw` when it is normalised already (no empty, `.` or
/// `..` component, no leading or trailing `/`, no NUL).
fn normalized(raw: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    let plain = !raw.is_empty()
        && !raw.starts_with('/')
        && !raw.ends_with('/')
        && !raw.contains('\0')
        && raw.split('/').all(|part| !matches!(part, "" | "." | ".."));
    if plain {
        return Ok(std::borrow::Cow::Borrowed(raw));
    }
    normalize_slowly(raw).map(std::borrow::Cow::Owned)
}

fn normalize_slowly(raw: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("path climbs above the image root with `..`".to_owned());
                }
            }
            p => {
                if p.contains('\0') {
                    return Err("path contains a NUL byte".to_owned());
                }
                parts.push(p);
            }
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::normalize_path;

    #[test]
    fn paths() {
        assert_eq!(normalize_path("./usr/bin/").unwrap(), "usr/bin");
        assert_eq!(normalize_path("/abs/path").unwrap(), "abs/path");
        assert_eq!(normalize_path("a/./b/../c").unwrap(), "a/c");
        assert_eq!(normalize_path("./").unwrap(), "");
        assert!(normalize_path("../../etc/passwd").is_err());
        assert!(normalize_path("a/../../b").is_err());
    }
}
