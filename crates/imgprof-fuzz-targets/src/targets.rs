//! One function per fuzz target. A panic is a finding; everything else (an error, a
//! refusal) is an answer.

use std::io::Write;
use std::str::FromStr;

use flate2::Compression;
use flate2::write::GzEncoder;
use imgprof_layers::{LayerError, LayerExpectation, LayerIndex, Stack, index_layer};
use imgprof_report::rules::RuleSet;
use imgprof_source::fuzzing::check_manifest;
use imgprof_source::reference::Reference;
use imgprof_source::registry::challenge::Challenge;
use imgprof_source::spec::{ArchiveManifestEntry, ImageConfig, ImageIndex, ImageManifest};
use imgprof_source::{Digest, LocalRef, Platform};

use crate::bundle::{FUZZ_MAX_UNCOMPRESSED, exercise_stack, parse_bundle, read_image, write_dir, write_tar};

/// Registry references (`python:3.12`, `host:5000/a/b@sha256:...`), local references
/// (`oci:DIR:TAG`, `./app.tar`), daemon references, platforms and digests.
pub fn reference(text: &str) {
    if let Ok(reference) = text.parse::<Reference>() {
        let _ = reference.api_host();
        let _ = reference.manifest_reference();
        let _ = reference.is_loopback();
    }
    // Relative names resolve against the working directory; nothing is opened.
    let _ = LocalRef::parse(text);
    let _ = LocalRef::looks_like_path(text);
    if let Ok(platform) = Platform::from_str(text) {
        let _ = platform.to_string();
        let _ = platform.satisfies(&Platform::host());
        let _ = platform.is_unknown();
    }
    if let Ok(digest) = Digest::from_str(text) {
        let _ = digest.short();
        let _ = digest.to_string();
    }
}

/// The JSON documents of an image: manifests, indexes, configs and `docker save`'s
/// manifest.json, then the checks the openers apply to them.
pub fn spec_json(data: &[u8]) {
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
}

const LAYER_SEPARATOR: &[u8] = b"=LAYER=";
const MAX_LAYERS: usize = 4;

fn index(blob: &[u8], diff_id: &Digest, digest: Option<&Digest>) -> Result<LayerIndex, LayerError> {
    let expect = LayerExpectation {
        location: "fuzz-layer",
        digest,
        diff_id,
        capture: |path| path.ends_with("status").then_some(4096),
        max_uncompressed: Some(FUZZ_MAX_UNCOMPRESSED),
    };
    index_layer(blob, expect)
}

/// Indexes `blob` with the diff_id it turns out to have (the walk reports it in the
/// mismatch), so a compressed input is walked to the end and returned, not refused.
fn index_any(blob: &[u8]) -> Option<LayerIndex> {
    let digest = Digest::of(blob);
    match index(blob, &digest, Some(&digest)) {
        Ok(index) => Some(index),
        Err(LayerError::DigestMismatch { actual, .. }) => index(blob, &actual, Some(&digest)).ok(),
        Err(_) => None,
    }
}

fn layer_parts(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < MAX_LAYERS - 1
        && let Some(i) = rest.windows(LAYER_SEPARATOR.len()).position(|w| w == LAYER_SEPARATOR)
    {
        parts.push(&rest[..i]);
        rest = &rest[i + LAYER_SEPARATOR.len()..];
    }
    parts.push(rest);
    parts
}

/// The streaming layer walk over arbitrary bytes: each part of the input (split at
/// `=LAYER=`) is indexed as it is (an uncompressed tar, or whatever its magic bytes say)
/// and gzip-compressed, then the layers are stacked so whiteouts apply across them, and
/// dive's figures computed over them.
pub fn tar_walker(data: &[u8]) {
    let mut layers = Vec::new();
    for part in layer_parts(data) {
        let plain = index_any(part);
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(part).expect("writing to a Vec");
        let gzipped = gz.finish().expect("writing to a Vec");
        let from_gzip = index(&gzipped, &Digest::of(part), Some(&Digest::of(&gzipped)));
        if let (Some(plain), Ok(from_gzip)) = (&plain, &from_gzip)
            && plain.compression == imgprof_layers::Compression::None
        {
            assert_eq!(
                plain.entries.len(),
                from_gzip.entries.len(),
                "gzip changes what a tar holds"
            );
        }
        layers.extend(plain.or(from_gzip.ok()));
    }
    let _ = imgprof_layers::dive::metrics(&layers);
    let stack = Stack::build(&layers);
    exercise_stack(&stack);
}

/// `docker save` archives: the input is written as the archive file (as it is, or built
/// from a bundle, see [`crate::bundle`]), opened with `imgprof_source::open` and every
/// layer read, verified, walked and stacked.
pub fn docker_archive(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("image.tar");
    match parse_bundle(data) {
        Some(members) => write_tar(&members, &path).expect("writing the archive"),
        None => std::fs::write(&path, data).expect("writing the archive"),
    }
    let arg = path.to_str().expect("a UTF-8 temporary path");
    for arg in [arg.to_owned(), format!("docker-archive:{arg}")] {
        if let Ok(image) = imgprof_source::open(&arg, None) {
            read_image(&image);
        }
    }
    let _ = imgprof_source::platforms(arg, &Default::default());
}

/// OCI image layouts: a bundle input (see [`crate::bundle`]) is written as the files of a
/// layout directory; any other input is written as an oci-archive (a tar of a layout).
/// Either is opened with `imgprof_source::open` and every layer read, verified, walked
/// and stacked.
pub fn oci_layout(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let arg = match parse_bundle(data) {
        Some(members) => {
            let layout = dir.path().join("layout");
            std::fs::create_dir(&layout).expect("creating the layout");
            write_dir(&members, &layout);
            format!("oci:{}", layout.display())
        }
        None => {
            let path = dir.path().join("image.tar");
            std::fs::write(&path, data).expect("writing the archive");
            format!("oci-archive:{}", path.display())
        }
    };
    if let Ok(image) = imgprof_source::open(&arg, None) {
        read_image(&image);
    }
    let _ = imgprof_source::platforms(&arg, &Default::default());
}

/// `WWW-Authenticate` challenges as registries send them.
pub fn www_authenticate(header: &str) {
    let _ = Challenge::parse(header);
}

/// CI rule files: `.imgprof.toml` and dive's `.dive-ci`, and the exclude globs they hold.
pub fn rules(text: &str) {
    if let Ok(rules) = RuleSet::from_toml(text, ".imgprof.toml") {
        let _ = rules.needs_baseline();
        for glob in rules.exclude() {
            for path in ["usr/lib/python3/x.pyc", "a", "", "var/lib/apt/lists/x"] {
                let _ = glob.matches(path);
            }
        }
    }
    if let Ok(rules) = RuleSet::from_dive_ci(text, ".dive-ci") {
        let _ = rules.needs_baseline();
        let _ = rules.exclude().len();
    }
}
