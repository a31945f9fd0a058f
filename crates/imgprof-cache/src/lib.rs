//! The layer cache: verified [`LayerIndex`]es stored on disk by digest, so a second run
//! over the same layers (the same image again, or another tag sharing its base) reads
//! only what changed.
//!
//! An index is a pure function of a layer's bytes, the walk that produced it and the
//! capture policy. An entry is therefore named by the blob digest and the diff_id, both
//! verified when it was written, inside a directory named by a *generation*: a hash of
//! this crate's file format, [`imgprof_layers::INDEX_VERSION`], the crate version and a
//! description of the capture policy. Anything that changes the index changes the
//! generation, so old entries are never read, only pruned.
//!
//! Layout (see docs/cache.md):
//!
//! ```text
//! <dir>/layers/v<FORMAT>-<generation>/<digest hex>-<diff_id hex>
//! ```
//!
//! Entries are written to a temporary file in the same directory and renamed into place,
//! so readers see a whole entry or none and concurrent writers of one entry are safe (the
//! last rename wins; both wrote the same bytes). A truncated, corrupt or foreign entry is a
//! miss: it is removed and written again, never an error.

mod entry;
mod manage;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use imgprof_layers::{IndexCache, LayerIndex};
use imgprof_source::Digest;
use sha2::{Digest as _, Sha256};

pub use manage::{CacheInfo, GenerationInfo, PruneOutcome, PruneSelection, info, prune};

/// The version of the entry file format (header and encoding). Bump it when `entry.rs`
/// writes something older code would misread.
pub const FORMAT: u32 = 1;

/// The environment variable that names the cache directory, above `XDG_CACHE_HOME`.
pub const DIR_VARIABLE: &str = "IMGPROF_CACHE_DIR";

/// Why the cache could not be used. Each names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode the index of {digest} for the cache: {reason}")]
    Encode { digest: Digest, reason: String },
    #[error("no cache directory: set {DIR_VARIABLE}, XDG_CACHE_HOME or HOME, or pass --cache-dir")]
    NoDirectory,
}

impl CacheError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CacheError {
        let path = path.to_owned();
        move |source| CacheError::Io { action, path, source }
    }
}

/// The cache directory: `$IMGPROF_CACHE_DIR`, else `$XDG_CACHE_HOME/imgprof`, else
/// `~/.cache/imgprof` (empty variables count as unset, as the XDG spec asks).
pub fn default_dir() -> Result<PathBuf, CacheError> {
    dir_from(|name| std::env::var_os(name))
}

fn dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf, CacheError> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var(DIR_VARIABLE) {
        return Ok(dir);
    }
    // The XDG spec: a relative path is invalid and ignored.
    if let Some(xdg) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join("imgprof"));
    }
    var("HOME")
        .map(|home| home.join(".cache").join("imgprof"))
        .ok_or(CacheError::NoDirectory)
}

/// The generation of entries this build reads and writes: 16 hex digits of a hash over
/// everything an index depends on besides the layer's bytes. `capture` describes the
/// capture policy (`imgprof_waste::capture_policy_description`).
pub fn generation(capture: &str) -> String {
    let description = format!(
        "imgprof-cache format {FORMAT}\nlayer index {}\nimgprof {}\ncapture policy:\n{capture}",
        imgprof_layers::INDEX_VERSION,
        env!("CARGO_PKG_VERSION"),
    );
    hex::encode(&Sha256::digest(description.as_bytes())[..8])
}

/// The directory name of a generation's entries.
pub(crate) fn generation_dir_name(generation: &str) -> String {
    format!("v{FORMAT}-{generation}")
}

/// The cache of one run: where entries of the current generation live, and the problems
/// met while storing (a cache that cannot be written slows a run down, it does not fail it).
#[derive(Debug)]
pub struct LayerCache {
    root: PathBuf,
    entries: PathBuf,
    generation: String,
    problems: Mutex<Vec<CacheError>>,
}

impl LayerCache {
    /// The cache under `root` for entries of `generation` (see [`generation`]). Nothing
    /// is created until the first store.
    pub fn new(root: PathBuf, generation: String) -> LayerCache {
        let entries = root.join("layers").join(generation_dir_name(&generation));
        LayerCache {
            root,
            entries,
            generation,
            problems: Mutex::new(Vec::new()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn generation(&self) -> &str {
        &self.generation
    }

    /// Where the entry of a layer lives.
    pub fn entry_path(&self, digest: &Digest, diff_id: &Digest) -> PathBuf {
        self.entries.join(format!("{}-{}", digest.hex(), diff_id.hex()))
    }

    /// The stored index of blob `digest` with tar stream `diff_id`. `Ok(None)` for a
    /// miss, including an entry that is unreadable as an entry (it is removed); `Err` only
    /// when the file exists but cannot be read at all.
    pub fn get(&self, digest: &Digest, diff_id: &Digest) -> Result<Option<LayerIndex>, CacheError> {
        let path = self.entry_path(digest, diff_id);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // No entry, or no directory yet (a file in its place fails the store instead).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(CacheError::io("read the cache entry", &path)(e)),
        };
        match entry::decode(&bytes, &self.generation, digest, diff_id) {
            Some(index) => {
                // The entry's time says when it was last used, for `prune --older-than`.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                Ok(Some(index))
            }
            None => {
                // Another run may have just renamed a good entry over it; removing that
                // costs one re-index, never a wrong answer.
                let _ = std::fs::remove_file(&path);
                Ok(None)
            }
        }
    }

    /// Stores a verified index, atomically: a temporary file in the entry's directory,
    /// renamed over the entry.
    pub fn put(&self, index: &LayerIndex) -> Result<(), CacheError> {
        let bytes = entry::encode(index, &self.generation)?;
        std::fs::create_dir_all(&self.entries).map_err(CacheError::io("create the cache directory", &self.entries))?;
        let mut temp = tempfile::Builder::new()
            .prefix(manage::TEMP_PREFIX)
            .tempfile_in(&self.entries)
            .map_err(CacheError::io("create a temporary file in", &self.entries))?;
        std::io::Write::write_all(&mut temp, &bytes).map_err(CacheError::io("write", temp.path()))?;
        let path = self.entry_path(&index.digest, &index.diff_id);
        temp.persist(&path)
            .map_err(|e| CacheError::io("rename a temporary file to", &path)(e.error))?;
        Ok(())
    }

    /// The problems met so far (unreadable or unwritable entries), emptied.
    pub fn take_problems(&self) -> Vec<CacheError> {
        std::mem::take(&mut *self.problems.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn note(&self, problem: CacheError) {
        self.problems.lock().unwrap_or_else(|e| e.into_inner()).push(problem);
    }
}

impl IndexCache for LayerCache {
    fn load(&self, digest: &Digest, diff_id: &Digest) -> Option<LayerIndex> {
        self.get(digest, diff_id).unwrap_or_else(|e| {
            self.note(e);
            None
        })
    }

    fn store(&self, index: &LayerIndex) {
        if let Err(e) = self.put(index) {
            self.note(e);
        }
    }
}

#[cfg(test)]
mod tests;
