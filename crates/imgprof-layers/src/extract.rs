//! Writing a path of the image to disk, each entry from the layer that holds it: what
//! `inspect`'s extract key does.
//!
//! The caller (the view's file tree) says which entry of which layer goes where; this
//! module streams each of those layers once, verifies its diff_id to the end, and writes
//! the entries into a directory beside the destination that is renamed into place only
//! when every layer matched. Nothing that exists is overwritten and nothing is written
//! through a symlink the image holds.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use imgprof_source::{Image, SourceError};

use crate::LayerError;
use crate::compression::{Decoder, sniff};
use crate::hashing::HashingReader;
use crate::index::EntryKind;
use crate::limits::{ExpansionGuard, Limits};
use crate::walk::{LayerExpectation, check_digest, entry_record};

/// What to write: the selection's entries, each with the layer it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractPlan {
    /// Where the selection goes; it must not exist yet.
    pub dest: PathBuf,
    pub items: Vec<ExtractItem>,
}

/// One entry of one layer and where it goes below the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractItem {
    pub layer: usize,
    /// The entry's index in its layer's `LayerIndex::entries`.
    pub entry: u32,
    /// Below the destination, `/`-separated; empty for the selection itself.
    pub relative: String,
    /// A hard link: the same layer's entry whose content it shares.
    pub content_from: Option<u32>,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    /// Devices, FIFOs and hard links whose file the layer does not hold: not written.
    pub skipped: u64,
    /// Regular files whose setuid, setgid or sticky bit was dropped.
    pub special_bits_dropped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{0} already exists: give a path that does not, nothing is overwritten")]
    Exists(PathBuf),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} would be written through the symlink {link} that the image holds: not written")]
    ThroughSymlink { path: PathBuf, link: PathBuf },
    #[error("layer {layer} holds no entry {entry}: the image changed since it was analysed")]
    MissingEntry { layer: usize, entry: u32 },
    #[error("the image has no layer {0}")]
    NoLayer(usize),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// Writes `plan` from `image`'s layers. On any error nothing is left at the destination.
pub fn extract(image: &Image, plan: &ExtractPlan, limits: Limits) -> Result<ExtractSummary, ExtractError> {
    if plan.dest.symlink_metadata().is_ok() {
        return Err(ExtractError::Exists(plan.dest.clone()));
    }
    let staging = staging_dir(&plan.dest)?;
    let selection = staging.join("selection");
    let result = extract_into(image, plan, limits, &selection).and_then(|summary| {
        fs::rename(&selection, &plan.dest).map_err(|source| ExtractError::Write {
            path: plan.dest.clone(),
            source,
        })?;
        Ok(summary)
    });
    let _ = fs::remove_dir_all(&staging);
    result
}

/// A new directory beside `dest`, so that the final rename stays on one filesystem.
fn staging_dir(dest: &Path) -> Result<PathBuf, ExtractError> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = parent.join(format!(".{name}.imgprof-extract-{}", std::process::id()));
    fs::create_dir(&staging).map_err(|source| ExtractError::Write {
        path: staging.clone(),
        source,
    })?;
    Ok(staging)
}

/// Where each wanted entry of one layer goes.
struct Wanted<'p> {
    /// By entry index: the items written from that entry's header and content.
    by_entry: HashMap<u32, Vec<&'p ExtractItem>>,
}

fn extract_into(
    image: &Image,
    plan: &ExtractPlan,
    limits: Limits,
    root: &Path,
) -> Result<ExtractSummary, ExtractError> {
    let mut layers: Vec<usize> = plan.items.iter().map(|i| i.layer).collect();
    layers.sort_unstable();
    layers.dedup();
    let mut summary = ExtractSummary::default();
    let mut dir_modes = Vec::new();
    for layer in layers {
        let mut wanted = Wanted {
            by_entry: HashMap::new(),
        };
        for item in plan.items.iter().filter(|i| i.layer == layer) {
            wanted
                .by_entry
                .entry(item.content_from.unwrap_or(item.entry))
                .or_default()
                .push(item);
        }
        let blob = image.layers.get(layer).ok_or(ExtractError::NoLayer(layer))?;
        let expect = LayerExpectation {
            location: &blob.location,
            digest: blob.digest.as_ref(),
            diff_id: &blob.diff_id,
            capture: |_| None,
            max_uncompressed: limits.max_uncompressed(blob.size),
        };
        let reader = image.open_layer(blob)?;
        let into = Output {
            root,
            summary: &mut summary,
            dir_modes: &mut dir_modes,
        };
        extract_layer(reader, &expect, blob.size, layer, &wanted, into)?;
    }
    // Deepest first, after every write: a read-only directory would refuse its children.
    dir_modes.sort_by_key(|(path, _): &(PathBuf, u32)| std::cmp::Reverse(path.components().count()));
    for (path, mode) in dir_modes {
        set_mode(&path, mode)?;
    }
    Ok(summary)
}

/// Where a layer's entries are written and what is tallied on the way.
struct Output<'a> {
    root: &'a Path,
    summary: &'a mut ExtractSummary,
    /// Directories written, and the mode each gets once everything is in.
    dir_modes: &'a mut Vec<(PathBuf, u32)>,
}

fn extract_layer(
    blob: impl Read,
    expect: &LayerExpectation<'_>,
    stored: u64,
    layer: usize,
    wanted: &Wanted<'_>,
    mut into: Output<'_>,
) -> Result<(), ExtractError> {
    let location = expect.location;
    let read_error = |stage: &'static str| {
        move |source: io::Error| LayerError::Read {
            location: location.to_owned(),
            stage,
            source,
        }
    };
    let mut compressed = BufReader::new(blob);
    let compression = sniff(&mut compressed).map_err(read_error("read"))?;
    let decoder = Decoder::new(compression, compressed).map_err(read_error(compression.name()))?;
    let limit = expect
        .max_uncompressed
        .filter(|_| compression != crate::Compression::None);
    let mut archive = tar::Archive::new(HashingReader::new(ExpansionGuard::new(decoder, limit)));
    let stage = compression.name();
    let mut index = 0u32;
    let mut absolute_paths = 0;
    let mut found = 0usize;
    for entry in archive.entries().map_err(read_error(stage))? {
        let mut entry = entry.map_err(read_error(stage))?;
        let Some(record) = entry_record(&mut entry, location, &mut absolute_paths)? else {
            continue;
        };
        if let Some(items) = wanted.by_entry.get(&index) {
            found += 1;
            let mtime = entry.header().mtime().ok();
            write_entry(&mut entry, &record, items, &mut into, mtime)?;
        }
        index += 1;
    }
    let mut hashed = archive.into_inner();
    hashed.drain().map_err(read_error(stage))?;
    let (guard, diff_id, _) = hashed.finish();
    if let Some(limit) = guard.tripped() {
        return Err(LayerError::ExpansionLimit {
            location: location.to_owned(),
            stage,
            limit,
            stored,
        }
        .into());
    }
    check_digest(location, "uncompressed content (diff_id)", expect.diff_id, &diff_id)?;
    if found < wanted.by_entry.len() {
        let missing = wanted
            .by_entry
            .keys()
            .copied()
            .filter(|&e| e >= index)
            .min()
            .unwrap_or(index);
        return Err(ExtractError::MissingEntry { layer, entry: missing });
    }
    Ok(())
}

fn write_entry<R: Read>(
    content: &mut R,
    record: &crate::Entry,
    items: &[&ExtractItem],
    into: &mut Output<'_>,
    mtime: Option<u64>,
) -> Result<(), ExtractError> {
    let Output {
        root,
        summary,
        dir_modes,
    } = into;
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExtractError::Write { path, source }
    };
    let mut written: Option<PathBuf> = None;
    for item in items {
        let path = destination(root, &item.relative)?;
        let is_link_copy = item.content_from.is_some();
        match record.kind {
            EntryKind::File => {
                if let Some(first) = &written {
                    // Another name of the same file: a hard link, as in the image.
                    fs::hard_link(first, &path).map_err(write_error(&path))?;
                    summary.files += 1;
                    continue;
                }
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(write_error(&path))?;
                summary.bytes += io::copy(content, &mut file).map_err(write_error(&path))?;
                if let Some(seconds) = mtime {
                    let _ = file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds));
                }
                drop(file);
                if record.mode & 0o7000 != 0 {
                    summary.special_bits_dropped += 1;
                }
                set_mode(&path, record.mode & 0o777)?;
                summary.files += 1;
                written = Some(path);
            }
            _ if is_link_copy => summary.skipped += 1,
            EntryKind::Dir => {
                fs::create_dir_all(&path).map_err(write_error(&path))?;
                dir_modes.push((path, record.mode & 0o777));
                summary.dirs += 1;
            }
            EntryKind::Symlink => {
                let target = record.link.as_deref().unwrap_or_default();
                std::os::unix::fs::symlink(target, &path).map_err(write_error(&path))?;
                summary.symlinks += 1;
            }
            // A hard link whose file the plan did not name, devices, FIFOs: an unprivileged
            // copy cannot hold them faithfully.
            _ => summary.skipped += 1,
        }
    }
    Ok(())
}

/// `relative` below `root`, its parent directories made, none of them a symlink.
fn destination(root: &Path, relative: &str) -> Result<PathBuf, ExtractError> {
    let parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty()).collect();
    let Some((last, parents)) = parts.split_last() else {
        return Ok(root.to_path_buf());
    };
    // The selection's own directory may come from a layer read later than its contents.
    if root.symlink_metadata().is_err() {
        fs::create_dir(root).map_err(|source| ExtractError::Write {
            path: root.to_path_buf(),
            source,
        })?;
    }
    let mut at = root.to_path_buf();
    for part in parents {
        at.push(part);
        match at.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(ExtractError::ThroughSymlink {
                    path: root.join(relative),
                    link: at,
                });
            }
            Ok(_) => {}
            Err(_) => fs::create_dir(&at).map_err(|source| ExtractError::Write {
                path: at.clone(),
                source,
            })?,
        }
    }
    Ok(at.join(last))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ExtractError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| ExtractError::Write {
        path: path.to_path_buf(),
        source,
    })
}
