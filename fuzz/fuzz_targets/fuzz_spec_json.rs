//! The JSON documents of an image: manifests, indexes, configs and `docker save`'s
//! manifest.json, then the checks the openers apply to them.
//!
//! The body is `imgprof_fuzz_targets::targets::spec_json` (crates/imgprof-fuzz-targets), which
//! `cargo test --workspace` also runs on every saved input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| imgprof_fuzz_targets::targets::spec_json(data));
