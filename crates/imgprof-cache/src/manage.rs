//! `imgprof cache info` and `imgprof cache prune`: what the cache holds, and removing it.
//!
//! Only files this crate writes are ever removed (entry names and temporary files inside
//! `<dir>/layers/v*-*/`), so a cache directory pointed at a directory holding other files
//! loses none of them.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::{CacheError, generation_dir_name};

/// Names of files being written (renamed into place when complete).
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// A temporary file older than this belongs to a run that died, not one still writing.
const ABANDONED_TEMP: Duration = Duration::from_secs(3600);

/// What the cache directory holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheInfo {
    pub root: PathBuf,
    /// One per generation directory, the current one first.
    pub generations: Vec<GenerationInfo>,
}

impl CacheInfo {
    pub fn entries(&self) -> u64 {
        self.generations.iter().map(|g| g.entries).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.generations.iter().map(|g| g.bytes).sum()
    }
}

/// The entries of one generation (`v<FORMAT>-<hash>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationInfo {
    pub name: String,
    /// Whether this build reads and writes it; other generations are stale.
    pub current: bool,
    pub entries: u64,
    /// Bytes of the entries as stored.
    pub bytes: u64,
    /// Temporary files (writes in progress, or left by a run that died).
    pub temporary: u64,
}

/// Which entries `prune` removes: those matching any selected condition, or all of them
/// when none is selected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneSelection {
    /// Entries of generations this build does not use (older formats, policies, versions).
    pub stale: bool,
    /// Entries not used (read or written) for this long.
    pub unused_for: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneOutcome {
    pub removed: u64,
    pub bytes: u64,
    pub kept: u64,
}

/// Summarises the cache under `root` (an absent directory is an empty cache).
pub fn info(root: &Path, generation: &str) -> Result<CacheInfo, CacheError> {
    let current = generation_dir_name(generation);
    let mut generations = Vec::new();
    for dir in generation_dirs(root)? {
        let mut info = GenerationInfo {
            name: file_name(&dir),
            current: file_name(&dir) == current,
            entries: 0,
            bytes: 0,
            temporary: 0,
        };
        for file in cache_files(&dir)? {
            match file.kind {
                FileKind::Entry => {
                    info.entries += 1;
                    info.bytes += file.len;
                }
                FileKind::Temporary => info.temporary += 1,
            }
        }
        generations.push(info);
    }
    generations.sort_by(|a, b| b.current.cmp(&a.current).then_with(|| a.name.cmp(&b.name)));
    Ok(CacheInfo {
        root: root.to_owned(),
        generations,
    })
}

/// Removes the entries `selection` picks (and temporary files left by runs that died),
/// then generation directories left empty.
pub fn prune(root: &Path, generation: &str, selection: PruneSelection) -> Result<PruneOutcome, CacheError> {
    let current = generation_dir_name(generation);
    let everything = !selection.stale && selection.unused_for.is_none();
    let now = SystemTime::now();
    let age = |modified: SystemTime| now.duration_since(modified).unwrap_or(Duration::ZERO);
    let mut outcome = PruneOutcome::default();
    for dir in generation_dirs(root)? {
        let stale = file_name(&dir) != current;
        for file in cache_files(&dir)? {
            let remove = match file.kind {
                FileKind::Temporary => age(file.modified) > ABANDONED_TEMP,
                FileKind::Entry => {
                    everything
                        || (selection.stale && stale)
                        || selection.unused_for.is_some_and(|limit| age(file.modified) > limit)
                }
            };
            if !remove {
                outcome.kept += u64::from(file.kind == FileKind::Entry);
                continue;
            }
            match std::fs::remove_file(&file.path) {
                Ok(()) => {}
                // Another prune got there first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CacheError::io("remove", &file.path)(e)),
            }
            if file.kind == FileKind::Entry {
                outcome.removed += 1;
                outcome.bytes += file.len;
            }
        }
        // Fails when not empty, which is what keeps it.
        let _ = std::fs::remove_dir(&dir);
    }
    let _ = std::fs::remove_dir(root.join("layers"));
    Ok(outcome)
}

/// `<root>/layers/v*-*` directories.
fn generation_dirs(root: &Path) -> Result<Vec<PathBuf>, CacheError> {
    let layers = root.join("layers");
    let read = match std::fs::read_dir(&layers) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CacheError::io("list", &layers)(e)),
    };
    let mut dirs = Vec::new();
    for entry in read {
        let entry = entry.map_err(CacheError::io("list", &layers))?;
        let name = entry.file_name();
        let is_generation = name.to_str().is_some_and(|n| n.starts_with('v') && n.contains('-'));
        if is_generation && entry.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Entry,
    Temporary,
}

struct CacheFile {
    path: PathBuf,
    kind: FileKind,
    len: u64,
    modified: SystemTime,
}

/// The entries and temporary files of a generation directory; anything else is ignored.
fn cache_files(dir: &Path) -> Result<Vec<CacheFile>, CacheError> {
    let read = std::fs::read_dir(dir).map_err(CacheError::io("list", dir))?;
    let mut files = Vec::new();
    for entry in read {
        let entry = entry.map_err(CacheError::io("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let kind = if is_entry_name(name) {
            FileKind::Entry
        } else if name.starts_with(TEMP_PREFIX) {
            FileKind::Temporary
        } else {
            continue;
        };
        let meta = match entry.metadata() {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => continue,
            // Removed meanwhile (a concurrent prune, or a rename of a temporary file).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(CacheError::io("read the metadata of", &entry.path())(e)),
        };
        files.push(CacheFile {
            path: entry.path(),
            kind,
            len: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    Ok(files)
}

/// `<64 hex>-<64 hex>`, as `LayerCache::entry_path` names entries.
fn is_entry_name(name: &str) -> bool {
    let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    name.split_once('-').is_some_and(|(a, b)| hex(a) && hex(b))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
