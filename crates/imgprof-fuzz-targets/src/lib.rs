//! The bodies of the cargo-fuzz targets in `fuzz/`, in a workspace crate that builds on
//! stable. Each target in `fuzz/fuzz_targets/` is one line calling its function here, so
//! what libFuzzer runs and what `cargo test --workspace` replays (every saved input of
//! `fuzz/corpus/TARGET` and `fuzz/artifacts/TARGET`, see [`replay`] and
//! `tests/replay.rs`) is the same code.

pub mod bundle;
pub mod replay;
pub mod targets;

pub use bundle::{
    BUNDLE_MAGIC, FUZZ_MAX_UNCOMPRESSED, Member, exercise_stack, parse_bundle, read_image, write_dir, write_tar,
};

/// A target's body over raw bytes: what libFuzzer hands it, or a saved input.
pub type Body = fn(&[u8]);

/// Every fuzz target by its name in `fuzz/Cargo.toml`. Targets that take `&str` are
/// given only inputs that are UTF-8, as `libfuzzer-sys` does.
pub const TARGETS: &[(&str, Body)] = &[
    ("fuzz_reference", |data| with_str(data, targets::reference)),
    ("fuzz_spec_json", targets::spec_json),
    ("fuzz_tar_walker", targets::tar_walker),
    ("fuzz_docker_archive", targets::docker_archive),
    ("fuzz_oci_layout", targets::oci_layout),
    ("fuzz_www_authenticate", |data| {
        with_str(data, targets::www_authenticate)
    }),
    ("fuzz_rules", |data| with_str(data, targets::rules)),
];

fn with_str(data: &[u8], body: fn(&str)) {
    if let Ok(text) = std::str::from_utf8(data) {
        body(text);
    }
}
