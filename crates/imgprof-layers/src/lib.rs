//! Streaming layer analysis for imgprof.
//!
//! [`index_layer`] turns one layer blob into a [`LayerIndex`] in a single pass (sha256 of
//! the blob, decompression, sha256 of the tar stream, tar walk), verifying both digests.
//! [`index_image`] does that for every layer of an [`Image`] in parallel. [`Stack`] stacks
//! the indexes into the final filesystem and measures each layer's changes and the
//! image's redundancy; [`dive`] reproduces dive's efficiency metric for comparison.

mod compression;
pub mod dive;
mod error;
mod hashing;
mod index;
mod stack;
mod walk;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use imgprof_source::{Image, SourceError};

pub use compression::Compression;
pub use error::LayerError;
pub use index::{CapturedFile, Entry, EntryCounts, EntryKind, LayerIndex};
pub use stack::{FinalCounts, Inode, LayerChanges, LossCause, LostCopy, Removal, Slot, Stack};
pub use walk::{CapturePolicy, LayerExpectation, capture_nothing, index_layer, index_layer_file, normalize_path};

/// Why an image's layers could not all be indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// Indexes every layer of `image`, up to `jobs` layers at a time, largest first so the
/// longest layer starts at once. Fails with the error of the lowest-indexed layer that
/// failed; no partial result is returned.
pub fn index_image(image: &Image, jobs: usize, capture: CapturePolicy) -> Result<Vec<LayerIndex>, IndexError> {
    let count = image.layers.len();
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(image.layers[i].size));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<LayerIndex, IndexError>>>> = Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            scope.spawn(|| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = index_one(image, i, capture);
                    let failed = result.is_err();
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                    if failed {
                        // Stop handing out work; layers already running finish.
                        next.store(count, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut indexes = Vec::with_capacity(count);
    let mut first_error = None;
    for result in results {
        match result {
            Some(Ok(index)) => indexes.push(index),
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => {}
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(indexes),
    }
}

fn index_one(image: &Image, i: usize, capture: CapturePolicy) -> Result<LayerIndex, IndexError> {
    let layer = &image.layers[i];
    let expect = LayerExpectation {
        location: &layer.location,
        digest: layer.digest.as_ref(),
        diff_id: &layer.diff_id,
        capture,
    };
    Ok(index_layer_file(&image.layer_file(layer)?, expect)?)
}
