//! The streaming layer walk over arbitrary bytes: each part of the input (split at
//! `=LAYER=`) is indexed as it is (an uncompressed tar, or whatever its magic bytes say)
//! and gzip-compressed, then the layers are stacked so whiteouts apply across them, and dive's figures computed
//! over them.
#![no_main]

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use imgprof_fuzz::{FUZZ_MAX_UNCOMPRESSED, exercise_stack};
use imgprof_layers::{LayerError, LayerExpectation, LayerIndex, Stack, index_layer};
use imgprof_source::Digest;
use libfuzzer_sys::fuzz_target;

const SEPARATOR: &[u8] = b"=LAYER=";
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

fn parts(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < MAX_LAYERS - 1
        && let Some(i) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR)
    {
        parts.push(&rest[..i]);
        rest = &rest[i + SEPARATOR.len()..];
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let mut layers = Vec::new();
    for part in parts(data) {
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
});
