//! Registry references (`python:3.12`, `host:5000/a/b@sha256:...`), local references
//! (`oci:DIR:TAG`, `./app.tar`), daemon references, platforms and digests.
//!
//! The body is `imgprof_fuzz_targets::targets::reference` (crates/imgprof-fuzz-targets), which
//! `cargo test --workspace` also runs on every saved input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| imgprof_fuzz_targets::targets::reference(data));
