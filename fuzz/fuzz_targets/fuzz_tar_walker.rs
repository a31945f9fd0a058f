//! The streaming layer walk over arbitrary bytes: each part of the input (split at
//! `=LAYER=`) is indexed as it is (an uncompressed tar, or whatever its magic bytes say)
//! and gzip-compressed, then the layers are stacked so whiteouts apply across them, and dive's figures computed
//! over them.
//!
//! The body is `imgprof_fuzz_targets::targets::tar_walker` (crates/imgprof-fuzz-targets), which
//! `cargo test --workspace` also runs on every saved input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| imgprof_fuzz_targets::targets::tar_walker(data));
