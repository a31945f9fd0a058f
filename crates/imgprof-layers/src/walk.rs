//! The streaming walk: blob bytes -> sha256 -> decompress -> sha256 -> tar entries ->
//! `LayerIndex`. Nothing is written to disk and no file's content is held in memory.

use std::io::{self, BufReader, Read};

use imgprof_source::Digest;

use crate::compression::{Compression, Decoder, sniff};
use crate::error::LayerError;
use crate::hashing::HashingReader;
use crate::index::{Entry, EntryKind, LayerIndex};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";
const BUFFER: usize = 256 * 1024;

/// What a layer blob must match, and how to name it in errors.
#[derive(Debug, Clone, Copy)]
pub struct LayerExpectation<'a> {
    /// Names the blob in messages, e.g. `app.tar:blobs/sha256/ab12...`.
    pub location: &'a str,
    /// Digest of the stored blob, when the source records one.
    pub digest: Option<&'a Digest>,
    pub diff_id: &'a Digest,
}

/// Streams one layer blob into a `LayerIndex`, verifying both digests. On any error
/// nothing of the layer is returned.
pub fn index_layer(blob: impl Read, expect: LayerExpectation<'_>) -> Result<LayerIndex, LayerError> {
    let location = expect.location;
    let read_error = |stage: &'static str| {
        move |source: io::Error| LayerError::Read {
            location: location.to_owned(),
            stage,
            source,
        }
    };

    let mut compressed = BufReader::with_capacity(BUFFER, HashingReader::new(blob));
    let compression = sniff(&mut compressed).map_err(read_error("read"))?;
    if compression == Compression::None {
        // Blob and tar stream are the same bytes: hash them once, as the diff_id.
        compressed.get_mut().stop_hashing();
    }
    let decoder = Decoder::new(compression, compressed).map_err(read_error(compression.name()))?;
    let uncompressed = HashingReader::new(decoder);
    let mut archive = tar::Archive::new(BufReader::with_capacity(BUFFER, uncompressed));

    let mut absolute_paths = 0;
    let stage = if compression == Compression::None {
        "tar"
    } else {
        compression.name()
    };
    let walked = walk_entries(&mut archive, location, stage, &mut absolute_paths);

    // Past the end-of-archive marker: hash the padding, then the rest of the blob. After
    // a failed walk the blob is still hashed to the end, so a corrupted blob is reported
    // as a digest mismatch rather than as whatever the corruption broke first.
    let mut uncompressed = archive.into_inner().into_inner();
    let drained = uncompressed.drain().map_err(read_error(stage));
    let (decoder, diff_id, tar_bytes) = uncompressed.finish();
    let mut compressed = decoder.into_inner().into_inner();
    let compressed_drained = compressed.drain().map_err(read_error("read"));
    let hashed = compressed.is_hashing();
    let (_, digest, compressed_bytes) = compressed.finish();
    let digest = if hashed { digest } else { diff_id.clone() };
    if let Some(expected) = expect.digest
        && compressed_drained.is_ok()
        && (hashed || drained.is_ok())
        && *expected != digest
    {
        return Err(LayerError::DigestMismatch {
            location: location.to_owned(),
            what: "blob digest",
            expected: expected.clone(),
            actual: digest,
        });
    }
    let entries = walked?;
    drained?;
    compressed_drained?;

    if *expect.diff_id != diff_id {
        return Err(LayerError::DigestMismatch {
            location: location.to_owned(),
            what: "uncompressed content (diff_id)",
            expected: expect.diff_id.clone(),
            actual: diff_id,
        });
    }
    Ok(LayerIndex {
        compression,
        compressed_bytes,
        tar_bytes,
        digest,
        diff_id,
        entries,
        absolute_paths,
    })
}

fn walk_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    location: &str,
    stage: &'static str,
    absolute_paths: &mut u64,
) -> Result<Vec<Entry>, LayerError> {
    let read_error = |source: io::Error| LayerError::Read {
        location: location.to_owned(),
        stage,
        source,
    };
    let mut entries = Vec::new();
    for entry in archive.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        if let Some(record) = entry_record(&entry, location, absolute_paths)? {
            entries.push(record);
        }
        // Reading the content here (rather than letting the walk skip it) keeps a read
        // error attributable to this entry's stream position.
        io::copy(&mut entry, &mut io::sink()).map_err(read_error)?;
    }
    Ok(entries)
}

fn entry_record<R: Read>(
    entry: &tar::Entry<'_, R>,
    location: &str,
    absolute_paths: &mut u64,
) -> Result<Option<Entry>, LayerError> {
    use tar::EntryType as T;
    let header = entry.header();
    let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let normalized = normalize_path(&raw_name).map_err(|reason| LayerError::BadEntry {
        location: location.to_owned(),
        path: raw_name.clone(),
        reason,
    })?;
    if raw_name.starts_with('/') {
        *absolute_paths += 1;
    }
    let (parent, name) = match normalized.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", normalized.as_str()),
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
                path: raw_name,
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
                    path: raw_name,
                    reason: "whiteout names no file".to_owned(),
                });
            }
            if parent.is_empty() {
                target.into()
            } else {
                format!("{parent}/{target}").into()
            }
        }
        _ => normalized.as_str().into(),
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
                path: raw_name.clone(),
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
        uid: header.uid().unwrap_or(0),
        gid: header.gid().unwrap_or(0),
        link,
    }))
}

/// Normalises a tar entry name to a path relative to the image root. Absolute names are
/// taken relative to the root, as container runtimes do; a `..` that climbs above the root
/// is refused, as Docker refuses to apply such a layer.
pub fn normalize_path(raw: &str) -> Result<String, String> {
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
