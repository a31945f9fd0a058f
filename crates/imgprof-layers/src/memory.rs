//! An [`IndexCache`] in memory in front of another (or none): what one run has indexed
//! is at hand for the next image of the same run, so a blob two images share is read
//! once even without a disk cache (`imgprof compare --no-cache`). It also keeps the
//! indexes of local layers that may stand in for the same blob later in the run (never
//! passed on to the store behind it, which holds registry layers only).

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

    fn load_local(&self, digest: &Digest, diff_id: &Digest) -> Option<LayerIndex> {
        self.known().get(&(digest.clone(), diff_id.clone())).cloned()
    }

    fn store_local(&self, index: &LayerIndex) {
        self.known()
            .insert((index.digest.clone(), index.diff_id.clone()), index.clone());
    }

    fn store(&self, index: &LayerIndex) {
        self.known()
            .insert((index.digest.clone(), index.diff_id.clone()), index.clone());
        if let Some(behind) = self.behind {
            behind.store(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{IndexOptions, LayerOutcome, LayerProgress, index_image_then};

    /// How each layer's reading ended.
    #[derive(Default)]
    struct Outcomes(Mutex<Vec<(usize, LayerOutcome)>>);

    impl LayerProgress for Outcomes {
        fn started(&self, _: usize, _: u64) {}
        fn advanced(&self, _: usize, _: u64) {}
        fn finished(&self, layer: usize, outcome: LayerOutcome) {
            self.0.lock().unwrap().push((layer, outcome));
        }
    }

    /// Reads `source` through `cache`: the outcome of each layer, in layer order.
    fn read(source: &str, cache: &MemoryCache<'_>) -> Vec<LayerOutcome> {
        let path = format!("{}/../../testdata/fixtures/{source}", env!("CARGO_MANIFEST_DIR"));
        let image = imgprof_source::open(&path, None).unwrap();
        let outcomes = Outcomes::default();
        let options = IndexOptions {
            jobs: 2,
            capture: |_| None,
            cache: Some(cache),
            progress: Some(&outcomes),
            limits: Default::default(),
        };
        index_image_then(&image, options, |_| ()).unwrap();
        let mut seen = outcomes.0.into_inner().unwrap();
        seen.sort_by_key(|(layer, _)| *layer);
        seen.into_iter().map(|(_, outcome)| outcome).collect()
    }

    #[test]
    fn a_local_compressed_layer_is_read_once_per_run() {
        let cache = MemoryCache::new(None);
        let read_layer = LayerOutcome::Read;
        assert_eq!(read("layers-gzip.oci:gzip", &cache), vec![read_layer; 4]);
        assert_eq!(read("layers-gzip.oci:gzip", &cache), vec![LayerOutcome::Cached; 4]);
        // The zstd image has the same tar streams in other blobs (one uncompressed, which
        // is skimmed and never reused): nothing matches by blob digest.
        assert_eq!(read("layers-zstd.oci:zstd", &cache), vec![read_layer; 4]);
        assert_eq!(
            read("layers-zstd.oci:zstd", &cache),
            vec![
                LayerOutcome::Cached,
                LayerOutcome::Cached,
                read_layer,
                LayerOutcome::Cached
            ]
        );
    }
}
