//! `WWW-Authenticate` challenges as registries send them.
//!
//! The body is `imgprof_fuzz_targets::targets::www_authenticate` (crates/imgprof-fuzz-targets), which
//! `cargo test --workspace` also runs on every saved input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| imgprof_fuzz_targets::targets::www_authenticate(data));
