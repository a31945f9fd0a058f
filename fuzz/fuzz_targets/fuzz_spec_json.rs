//! The JSON documents of an image: manifests, indexes, configs and `docker save`'s
//! manifest.json, then the checks the openers apply to them.
#![no_main]

use imgprof_source::Platform;
use imgprof_source::fuzzing::check_manifest;
use imgprof_source::spec::{ArchiveManifestEntry, ImageConfig, ImageIndex, ImageManifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let manifest = serde_json::from_slice::<ImageManifest>(data).ok();
    let config = serde_json::from_slice::<ImageConfig>(data).ok();
    if let Ok(index) = serde_json::from_slice::<ImageIndex>(data) {
        for descriptor in index.manifests() {
            let _ = descriptor.ref_name();
            if let Some(platform) = descriptor.platform() {
                let _ = platform.satisfies(&Platform::host());
                let _ = platform.to_string();
            }
        }
    }
    if let Ok(entries) = serde_json::from_slice::<Vec<ArchiveManifestEntry>>(data) {
        let _ = entries.iter().map(|e| e.layers.len()).sum::<usize>();
    }
    if let Some(config) = &config {
        let _ = config.platform().to_string();
        let _ = imgprof_source::history::layer_history(config.history(), config.diff_ids().len());
        for history in config.history() {
            if let Some(created_by) = history.created_by() {
                let parsed = imgprof_source::history::Instruction::from_created_by(created_by);
                let _ = parsed.to_dockerfile();
                let _ = imgprof_source::history::Instruction::parse(&parsed.to_string());
            }
        }
        // What the cache and report write back out must serialise.
        let _ = serde_json::to_vec(config).expect("a parsed config serialises");
    }
    // A document that is both a manifest and a config (the fuzzer makes those) checks
    // against itself; otherwise against an empty config.
    if let Some(manifest) = &manifest {
        let empty = ImageConfig::default();
        let config = config.as_ref().unwrap_or(&empty);
        let _ = check_manifest(manifest, config, None);
        let _ = check_manifest(manifest, config, Some(&Platform::host()));
    }
});
