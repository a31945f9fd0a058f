//! `docker save` archives: the input is written as the archive file (as it is, or built
//! from a bundle, see `imgprof_fuzz`), opened with `imgprof_source::open` and every layer
//! read, verified, walked and stacked.
//!
//! The body is `imgprof_fuzz_targets::targets::docker_archive` (crates/imgprof-fuzz-targets), which
//! `cargo test --workspace` also runs on every saved input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| imgprof_fuzz_targets::targets::docker_archive(data));
