//! CI rule files: `.imgprof.toml` and dive's `.dive-ci`, and the exclude globs they hold.
//!
//! The body is `imgprof_fuzz_targets::targets::rules` (crates/imgprof-fuzz-targets), which
//! `cargo test --workspace` also runs on every saved input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| imgprof_fuzz_targets::targets::rules(data));
