//! OCI image layouts: a bundle input (see `imgprof_fuzz`) is written as the files of a
//! layout directory; any other input is written as an oci-archive (a tar of a layout).
//! Either is opened with `imgprof_source::open` and every layer read, verified, walked and
//! stacked.
//!
//! The body is `imgprof_fuzz_targets::targets::oci_layout` (crates/imgprof-fuzz-targets), which
//! `cargo test --workspace` also runs on every saved input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| imgprof_fuzz_targets::targets::oci_layout(data));
