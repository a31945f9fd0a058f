//! Streaming layer analysis for imgprof.
//!
//! [`index_layer`] turns one layer blob into a [`LayerIndex`] in a single pass (sha256 of
//! the blob, decompression, sha256 of the tar stream, tar walk; for a compressed blob the
//! three stages on three threads, `pipe`), verifying both digests.
//! [`index_image_then`] indexes every layer of an [`Image`] in parallel (uncompressed local
//! layers: a header-only walk while a hash pool verifies them) and analyses the indexes
//! while the last digests are checked. [`Stack`] stacks
//! the indexes into the final filesystem and measures each layer's changes and the
//! image's redundancy; [`dive`] reproduces dive's efficiency metric for comparison.

mod compression;
pub mod dive;
mod error;
pub mod extract;
mod hashing;
mod index;
mod limits;
mod memory;
mod pipe;
mod progress;
mod stack;
mod walk;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use imgprof_source::{Digest, Image, SourceError};

pub use compression::Compression;
pub use error::LayerError;
pub use index::{CapturedFile, Entry, EntryCounts, EntryKind, INDEX_VERSION, LayerIndex};
pub use limits::{DEFAULT_MAX_EXPANSION, EXPANSION_FLOOR, Limits, MAX_ENTRY_METADATA};
pub use memory::MemoryCache;
pub use progress::{LayerOutcome, LayerProgress};
pub use stack::{FinalCounts, Inode, LayerChanges, LossCause, LostCopy, Removal, Slot, Stack};
pub use walk::{CapturePolicy, LayerExpectation, index_layer, normalize_path};

/// Why an image's layers could not all be indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// Where verified indexes are kept between runs, keyed by the layer's digests (the
/// `imgprof-cache` crate implements it on disk). This crate only calls it; it does not
/// know where or how indexes are stored, and a store that fails must not fail indexing,
/// so both methods are infallible: a store reports its own problems.
pub trait IndexCache: Sync {
    /// The index stored for the blob `digest` whose tar stream is `diff_id`, if any.
    fn load(&self, digest: &Digest, diff_id: &Digest) -> Option<LayerIndex>;
    /// Keeps `index`, whose `digest` and `diff_id` have been verified against its bytes.
    fn store(&self, index: &LayerIndex);
    /// The index of a local layer read earlier in this run. Only a store that lives no
    /// longer than the run ([`MemoryCache`]) has any: see `walk_one` for which layers.
    fn load_local(&self, _digest: &Digest, _diff_id: &Digest) -> Option<LayerIndex> {
        None
    }
    /// Keeps the verified index of a local layer for the rest of this run only.
    fn store_local(&self, _index: &LayerIndex) {}
}

/// How [`index_image_then`] reads: how many layers at once, which file contents to keep,
/// where verified indexes are kept between runs, and who hears of the progress.
#[derive(Clone, Copy)]
pub struct IndexOptions<'a> {
    pub jobs: usize,
    pub capture: CapturePolicy,
    pub cache: Option<&'a dyn IndexCache>,
    pub progress: Option<&'a dyn LayerProgress>,
    pub limits: Limits,
}

/// Indexes every layer of `image`, largest first, `jobs` at a time, verifying every
/// digest, and runs `analyze` on the indexes as soon as every layer has been walked,
/// while the sha256 of large uncompressed layers (what `docker save` writes) is still
/// being computed on other threads. `analyze`'s result is returned only if every digest
/// then matches; otherwise it is dropped and the digest error returned, so nothing
/// computed from an unverified blob is ever shown.
///
/// With a `cache`, a layer that only streams (a registry's) and has a blob digest is
/// looked up first and, when found, never opened; one that is indexed is stored once both
/// its digests matched. Local files are always read and verified: see [`uses_cache`].
pub fn index_image_then<T>(
    image: &Image,
    options: IndexOptions<'_>,
    analyze: impl FnOnce(&[LayerIndex]) -> T,
) -> Result<(Vec<LayerIndex>, T), IndexError> {
    let IndexOptions {
        jobs,
        capture,
        cache,
        progress,
        limits,
    } = options;
    let count = image.layers.len();
    let jobs = jobs.clamp(1, count.max(1));
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(image.layers[i].size));

    let expectations: Vec<LayerExpectation<'_>> = image
        .layers
        .iter()
        .map(|layer| LayerExpectation {
            location: &layer.location,
            digest: layer.digest.as_ref(),
            diff_id: &layer.diff_id,
            capture,
            max_uncompressed: limits.max_uncompressed(layer.size),
        })
        .collect();
    // Local files whose bytes are an uncompressed tar get their sha256 on the hash pool
    // and a header-only walk on the walk pool; everything else streams once through
    // hash, decompression, hash and walk.
    let mut files = Vec::with_capacity(count);
    for layer in &image.layers {
        let input = match image.layer_file(layer)? {
            Some(file) => {
                let skim = walk::is_uncompressed(&file).map_err(|source| LayerError::Read {
                    location: layer.location.clone(),
                    stage: "read",
                    source,
                })?;
                LayerInput { file: Some(file), skim }
            }
            None => LayerInput {
                file: None,
                skim: false,
            },
        };
        files.push(input);
    }

    let hashed: Vec<Mutex<Option<std::io::Result<imgprof_source::Digest>>>> =
        (0..count).map(|_| Mutex::new(None)).collect();
    let to_hash: Vec<usize> = order.iter().copied().filter(|&i| files[i].skim).collect();
    let next_hash = AtomicUsize::new(0);

    let walked = std::thread::scope(|scope| {
        for worker in 0..jobs.min(to_hash.len()) {
            let next_hash = &next_hash;
            let to_hash = &to_hash;
            let hashed = &hashed;
            let files = &files;
            scope.spawn(move || {
                if worker > 0 {
                    yield_to_critical_path();
                }
                while let Some(&i) = to_hash.get(next_hash.fetch_add(1, Ordering::Relaxed)) {
                    if let Some(file) = &files[i].file {
                        set(&hashed[i], walk::sha256_of(file.reader()));
                    }
                }
            });
        }
        let mut outcomes = walk_all(image, &order, jobs, &files, &expectations, cache, progress);
        hash_size_collisions(&mut outcomes, &files, &expectations);
        // Analyse while the hash pool finishes; `scope` waits for it before returning.
        if outcomes.iter().all(WalkOutcome::succeeded) {
            let layers: Vec<LayerIndex> = outcomes
                .into_iter()
                .zip(&files)
                .zip(&expectations)
                .filter_map(|((outcome, input), expect)| outcome.into_provisional(input.file.as_ref(), expect))
                .collect();
            let result = analyze(&layers);
            Ok((layers, result))
        } else {
            Err(outcomes)
        }
    });

    match walked {
        Ok((layers, result)) => {
            // Confirm the provisional digests of the skimmed layers.
            for &i in &to_hash {
                let digest = take(&hashed[i]).unwrap_or_else(|| Err(std::io::Error::other("the blob was not hashed")));
                walk::verify_digest(&expectations[i], digest)?;
            }
            Ok((layers, result))
        }
        Err(outcomes) => {
            for (i, outcome) in outcomes.into_iter().enumerate() {
                let result = match outcome {
                    WalkOutcome::Complete(result) => result.map(drop),
                    WalkOutcome::Skimmed(walked) => {
                        let digest =
                            take(&hashed[i]).unwrap_or_else(|| Err(std::io::Error::other("the blob was not hashed")));
                        walk::verify_digest(&expectations[i], digest)
                            .and(walked.map(drop))
                            .map_err(IndexError::from)
                    }
                };
                result?;
            }
            unreachable_error(image)
        }
    }
}

/// Walks every layer on `jobs` threads, largest first.
fn walk_all(
    image: &Image,
    order: &[usize],
    jobs: usize,
    files: &[LayerInput],
    expectations: &[LayerExpectation<'_>],
    cache: Option<&dyn IndexCache>,
    progress: Option<&dyn LayerProgress>,
) -> Vec<WalkOutcome> {
    yield_to_critical_path();
    let slots: Vec<Mutex<Option<WalkOutcome>>> = (0..files.len()).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                yield_to_critical_path();
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let outcome = walk_one(image, i, &files[i], expectations[i], cache, progress);
                    set(&slots[i], outcome);
                }
            });
        }
    });
    slots
        .iter()
        .map(|slot| {
            take(slot).unwrap_or(WalkOutcome::Complete(Err(IndexError::Layer(LayerError::Read {
                location: String::new(),
                stage: "read",
                source: std::io::Error::other("the layer was not walked"),
            }))))
        })
        .collect()
}

/// Walks layer `i`, telling `progress` when it starts, how far it got and how it ended.
fn walk_one(
    image: &Image,
    i: usize,
    input: &LayerInput,
    expect: LayerExpectation<'_>,
    cache: Option<&dyn IndexCache>,
    progress: Option<&dyn LayerProgress>,
) -> WalkOutcome {
    if let Some(progress) = progress {
        progress.started(i, image.layers[i].size);
    }
    let counted = |reader| progress::counted(reader, i, progress);
    let (outcome, cached) = match input {
        LayerInput {
            file: Some(file),
            skim: true,
        } => {
            let walked = walk::skim_layer(file, &expect);
            if let (Some(progress), Ok(_)) = (progress, &walked) {
                progress.advanced(i, file.len());
            }
            (WalkOutcome::Skimmed(walked), false)
        }
        LayerInput { file: Some(file), .. } => {
            // A local layer streamed whole (compressed: every file hashed on the way) with
            // the manifest's blob digest depends on its bytes alone, verified when the
            // first image of this run read them: a second image sharing the blob reuses
            // that index. A skimmed (uncompressed) layer's index depends on the other
            // layers of its image (which sizes collide), so it is always read; and no
            // store that outlives the run holds local layers (see `uses_cache`).
            let layer = &image.layers[i];
            let reused = cache
                .zip(layer.digest.as_ref())
                .and_then(|(cache, digest)| cache.load_local(digest, &layer.diff_id))
                .filter(|index| Some(&index.digest) == layer.digest.as_ref() && index.diff_id == layer.diff_id);
            match reused {
                Some(index) => (WalkOutcome::Complete(Ok(index)), true),
                None => {
                    let indexed = index_layer(counted(Box::new(file.reader())), expect).map_err(IndexError::from);
                    if let (Some(cache), Ok(index), true) = (cache, &indexed, layer.digest.is_some()) {
                        cache.store_local(index);
                    }
                    (WalkOutcome::Complete(indexed), false)
                }
            }
        }
        LayerInput { file: None, .. } => {
            let layer = &image.layers[i];
            match cached_index(image, layer, cache) {
                Some(index) => (WalkOutcome::Complete(Ok(index)), true),
                None => {
                    let indexed = image
                        .open_layer(layer)
                        .map_err(IndexError::from)
                        .and_then(|blob| index_layer(counted(blob), expect).map_err(IndexError::from));
                    if let (Some(cache), Ok(index)) = (cache.filter(|_| uses_cache(image, layer)), &indexed) {
                        // `index_layer` returns only after both digests matched: safe to keep.
                        cache.store(index);
                    }
                    (WalkOutcome::Complete(indexed), false)
                }
            }
        }
    };
    if let Some(progress) = progress {
        let how = match (outcome.succeeded(), cached) {
            (false, _) => LayerOutcome::Failed,
            (true, true) => LayerOutcome::Cached,
            (true, false) => LayerOutcome::Read,
        };
        progress.finished(i, how);
    }
    outcome
}

/// The cached index of a layer that only streams, when the cache has one for its blob
/// digest and diff_id.
fn cached_index(
    image: &Image,
    layer: &imgprof_source::LayerBlob,
    cache: Option<&dyn IndexCache>,
) -> Option<LayerIndex> {
    let (cache, digest) = cache.zip(layer.digest.as_ref()).filter(|_| uses_cache(image, layer))?;
    cache
        .load(digest, &layer.diff_id)
        // The store promises this; checked here too because the invariant is ours.
        .filter(|index| index.digest == *digest && index.diff_id == layer.diff_id)
}

/// Whether a layer's index may come from (and go to) an [`IndexCache`]: only layers that
/// are not local files and have a blob digest. A stored index stands for bytes whose
/// sha256 was checked once; for a registry blob the manifest names that digest, so the
/// index is the layer's. A local file is read anyway, cheaply, and reading it is what
/// verifies it: a hit would report a file edited or corrupted in place from its old
/// bytes. And an uncompressed local layer is skimmed, hashing only the files whose size
/// collides with another layer's, so its index depends on the rest of the image.
pub fn uses_cache(image: &Image, layer: &imgprof_source::LayerBlob) -> bool {
    layer.digest.is_some() && image.source.kind == imgprof_source::SourceKind::Registry
}

/// Hashes the content of skimmed files whose size another file shares (streamed layers
/// hashed every file on the way): only those can have a twin, so duplicate detection
/// reads a small part of an uncompressed image a second time instead of all of it.
fn hash_size_collisions(outcomes: &mut [WalkOutcome], files: &[LayerInput], expectations: &[LayerExpectation<'_>]) {
    let mut counts: HashMap<u64, u32> = HashMap::new();
    for outcome in outcomes.iter() {
        let sizes: Box<dyn Iterator<Item = u64>> = match outcome {
            WalkOutcome::Complete(Ok(index)) => Box::new(
                index
                    .entries
                    .iter()
                    .filter(|e| e.kind == EntryKind::File && e.size > 0)
                    .map(|e| e.size),
            ),
            WalkOutcome::Skimmed(Ok(walked)) => Box::new(walked.unhashed_sizes()),
            _ => Box::new(std::iter::empty()),
        };
        for size in sizes {
            *counts.entry(size).or_default() += 1;
        }
    }
    let shared: HashSet<u64> = counts
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(size, _)| size)
        .collect();
    for (i, outcome) in outcomes.iter_mut().enumerate() {
        if let WalkOutcome::Skimmed(Ok(walked)) = outcome
            && let Some(file) = &files[i].file
            && let Err(source) = walked.hash_colliding(file, &shared)
        {
            *outcome = WalkOutcome::Skimmed(Err(LayerError::Read {
                location: expectations[i].location.to_owned(),
                stage: "read",
                source,
            }));
        }
    }
}

/// Some walk failed, yet every layer checked out: cannot happen, reported rather than panicking.
fn unreachable_error<T>(image: &Image) -> Result<T, IndexError> {
    Err(IndexError::Layer(LayerError::Read {
        location: image.source.location.clone(),
        stage: "read",
        source: std::io::Error::other("a layer failed without an error"),
    }))
}

/// How a layer is read: a local file (skimmed when it is an uncompressed tar) or a
/// stream (registries).
struct LayerInput {
    file: Option<imgprof_source::BlobFile>,
    skim: bool,
}

enum WalkOutcome {
    /// Streamed and verified in one pass.
    Complete(Result<LayerIndex, IndexError>),
    /// Headers walked; the digest comes from the hash pool.
    Skimmed(Result<walk::Walked, LayerError>),
}

impl WalkOutcome {
    fn succeeded(&self) -> bool {
        match self {
            WalkOutcome::Complete(r) => r.is_ok(),
            WalkOutcome::Skimmed(r) => r.is_ok(),
        }
    }

    /// The index this layer will have once its digest is confirmed: a skimmed blob gets
    /// the expected digest and diff_id, which the hash must then match to be shown.
    fn into_provisional(
        self,
        file: Option<&imgprof_source::BlobFile>,
        expect: &LayerExpectation<'_>,
    ) -> Option<LayerIndex> {
        match self {
            WalkOutcome::Complete(Ok(index)) => Some(index),
            WalkOutcome::Skimmed(Ok(walked)) => Some(walked.into_index(file?.len(), expect)),
            _ => None,
        }
    }
}

/// Lowers the calling thread's priority (nice +10). The hash of the largest layer is the
/// critical path of an uncompressed image; every other thread (walks, other hashes, the
/// analysis) yields to it, so it keeps a core to itself. Linux applies nice per thread.
fn yield_to_critical_path() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; who = 0 is the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

fn set<T>(slot: &Mutex<Option<T>>, value: T) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|e| e.into_inner()).take()
}
