//! An [`IndexCache`] in memory in front of another (or none): what one run has indexed
//! is at hand for the next image of the same run, so a blob two images share is read
//! once even without a disk cache (`imgprof compare --no-cache`).

use std::collections::HashMap;
use std::sync::Mutex;

use imgprof_source::Digest;

use crate::{IndexCache, LayerIndex};

pub struct MemoryCache<'a> {
    behind: Option<&'a dyn IndexCache>,
    known: Mutex<HashMap<(Digest, Digest), LayerIndex>>,
}

impl<'a> MemoryCache<'a> {
    /// A memory cache in front of `behind`, which is still asked on a miss and still
    /// given every verified index.
    pub fn new(behind: Option<&'a dyn IndexCache>) -> Self {
        MemoryCache {
            behind,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<(Digest, Digest), LayerIndex>> {
        // A panic elsewhere cannot leave a half-written map: entries are inserted whole.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl IndexCache for MemoryCache<'_> {
    fn load(&self, digest: &Digest, diff_id: &Digest) -> Option<LayerIndex> {
        let key = (digest.clone(), diff_id.clone());
        if let Some(index) = self.known().get(&key) {
            return Some(index.clone());
        }
        let index = self.behind?.load(digest, diff_id)?;
        self.known().insert(key, index.clone());
        Some(index)
    }

    fn store(&self, index: &LayerIndex) {
        self.known()
            .insert((index.digest.clone(), index.diff_id.clone()), index.clone());
        if let Some(behind) = self.behind {
            behind.store(index);
        }
    }
}
