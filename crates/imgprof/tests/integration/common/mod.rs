//! Shared helpers for the binary's integration tests.
#![allow(dead_code)]

pub mod containerd;
pub mod dockerd;
pub mod engine;
pub mod hub;
/// The fixture builder `cargo xtask testdata` uses, shared rather than copied.
#[path = "../../../../../xtask/src/image_writer.rs"]
pub mod image_writer;
pub mod measured;
pub mod podman;
pub mod proxy;
pub mod registry;
pub mod schema;
pub mod token;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::Digest as _;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn testdata(rel: &str) -> String {
    root().join("testdata").join(rel).display().to_string()
}

/// Runs imgprof with a fresh, empty layer cache of its own, so no test reads or writes
/// the user's cache and none sees what another cached.
pub fn imgprof(args: &[&str]) -> Output {
    imgprof_with_env(args, &[])
}

/// The binary with extra environment variables (`DOCKER_CONFIG`, ...) and a layer
/// cache of its own.
pub fn imgprof_with_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let cache = tempfile::tempdir().expect("temp dir");
    imgprof_cached_with_env(cache.path(), args, env)
}

/// Runs imgprof with its layer cache in `cache`.
pub fn imgprof_cached(cache: &Path, args: &[&str]) -> Output {
    imgprof_cached_with_env(cache, args, &[])
}

pub fn imgprof_cached_with_env(cache: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_imgprof"));
    command.args(args).env("NO_COLOR", "1").env("IMGPROF_CACHE_DIR", cache);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the imgprof binary runs")
}

/// `imgprof report --json SOURCE`, which must succeed.
pub fn report_json(source: &str) -> Value {
    let out = imgprof(&["report", "--json", "--top", "1000", source]);
    assert!(
        out.status.success(),
        "report of {source} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&out.stdout).expect("report is JSON");
    schema::assert_schema("report.schema.json", &report);
    report
}

/// Whether an external tool is on PATH. Under `IMGPROF_REQUIRE_TOOLS=1` (set by
/// `cargo xtask ci`) a missing tool fails the test instead of skipping it.
pub fn has_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    required(found, name)
}

/// Whether Python has `module`; required as tools are.
pub fn has_python_module(module: &str) -> bool {
    let found = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    required(found, &format!("python3 module {module}"))
}

/// `found`, or a failed test when tools are required (`IMGPROF_REQUIRE_TOOLS=1`).
fn required(found: bool, what: &str) -> bool {
    if !found && std::env::var("IMGPROF_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{what} is required (IMGPROF_REQUIRE_TOOLS=1) but not installed");
    }
    if !found {
        eprintln!("skipping: {what} is not installed");
    }
    found
}

/// dive 0.13.1's JSON export of a docker-archive.
pub fn dive_json(archive: &Path) -> Value {
    let out_file = tempfile::NamedTempFile::new().expect("temp file");
    let out = Command::new("dive")
        .args(["--source", "docker-archive"])
        .arg(archive)
        .arg("--json")
        .arg(out_file.path())
        .output()
        .expect("dive runs");
    assert!(
        out.status.success(),
        "dive failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&std::fs::read(out_file.path()).expect("dive wrote its export")).expect("dive JSON")
}

/// imgprof's dive-compatible figures equal dive's own on `archive`.
pub fn assert_same_as_dive(archive: &Path, ours: &Value) {
    let dive = dive_json(archive);
    let name = archive.display();
    assert_eq!(ours["dive"]["image_bytes"], dive["image"]["sizeBytes"], "{name}: size");
    assert_eq!(
        ours["dive"]["wasted_bytes"], dive["image"]["inefficientBytes"],
        "{name}: wasted"
    );
    assert_eq!(
        ours["dive"]["efficiency"].as_f64(),
        dive["image"]["efficiencyScore"].as_f64(),
        "{name}: efficiency"
    );
    let dive_layers = dive["layer"].as_array().expect("layers").len();
    assert_eq!(
        ours["layers"].as_array().expect("layers").len(),
        dive_layers,
        "{name}: layer count"
    );
}

/// The realistic images of `cargo xtask real-images`, or `None` (with a note) when they
/// have not been built; under `IMGPROF_REQUIRE_REAL_IMAGES=1` their absence fails.
pub fn real_images_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("IMGPROF_REAL_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("testdata/real"));
    if dir.join("naive.tar").exists() {
        return Some(dir);
    }
    if std::env::var("IMGPROF_REQUIRE_REAL_IMAGES").as_deref() == Ok("1") {
        panic!(
            "realistic images missing at {}: run `cargo xtask real-images`",
            dir.display()
        );
    }
    eprintln!(
        "skipping: no realistic images at {} (cargo xtask real-images)",
        dir.display()
    );
    None
}

/// `umoci unpack` of `layout:tag` into a fresh directory; returns (guard, rootfs).
pub fn unpack(layout: &Path, tag: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let bundle = dir.path().join("bundle");
    let out = Command::new("umoci")
        .args(["unpack", "--image", &format!("{}:{tag}", layout.display())])
        .arg(&bundle)
        .output()
        .expect("umoci runs");
    assert!(
        out.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, bundle.join("rootfs"))
}

/// Regular files of a root filesystem: (path relative to it, size, (device, inode)).
pub fn rootfs_files(rootfs: &Path) -> Vec<(String, u64, (u64, u64))> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![rootfs.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable rootfs") {
            let entry = entry.expect("directory entry");
            let meta = std::fs::symlink_metadata(entry.path()).expect("metadata");
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(rootfs)
                    .expect("below rootfs")
                    .display()
                    .to_string();
                out.push((rel, meta.size(), (meta.dev(), meta.ino())));
            }
        }
    }
    out
}

/// Σ sizes of distinct inodes among the files `wanted` selects, as `du --apparent-size`.
pub fn du(files: &[(String, u64, (u64, u64))], wanted: impl Fn(&str) -> bool) -> u64 {
    let mut seen = std::collections::HashSet::new();
    files
        .iter()
        .filter(|(p, _, inode)| wanted(p) && seen.insert(*inode))
        .map(|(_, size, _)| size)
        .sum()
}

/// An OCI layout at `out` whose `base` tag is `layout`'s `gzip` image cut to its first
/// `keep` layers: a base image the full one was built FROM.
pub fn base_of(layout: &Path, out: &Path, keep: usize) -> std::path::PathBuf {
    let dest = out.join("base.oci");
    let blobs = dest.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    for blob in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let blob = blob.unwrap();
        std::fs::copy(blob.path(), blobs.join(blob.file_name())).unwrap();
    }
    std::fs::copy(layout.join("oci-layout"), dest.join("oci-layout")).unwrap();
    let read = |digest: &str| -> Value {
        let bytes = std::fs::read(blobs.join(digest.trim_start_matches("sha256:"))).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let write = |value: &Value| -> (String, usize) {
        let bytes = serde_json::to_vec(value).unwrap();
        let hex = hex_sha256(&bytes);
        std::fs::write(blobs.join(&hex), &bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut manifest = read(index["manifests"][0]["digest"].as_str().unwrap());
    let mut config = read(manifest["config"]["digest"].as_str().unwrap());

    config["rootfs"]["diff_ids"].as_array_mut().unwrap().truncate(keep);
    // History up to (and with the empty entries before) the last kept layer.
    let mut layers_seen = 0;
    let history: Vec<Value> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|h| {
            let empty = h["empty_layer"].as_bool().unwrap_or(false);
            layers_seen += usize::from(!empty);
            empty || layers_seen <= keep
        })
        .cloned()
        .collect();
    config["history"] = Value::Array(history);
    let (config_digest, config_size) = write(&config);
    manifest["config"]["digest"] = config_digest.into();
    manifest["config"]["size"] = config_size.into();
    manifest["layers"].as_array_mut().unwrap().truncate(keep);
    let (manifest_digest, manifest_size) = write(&manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": "base"}
        }]
    });
    std::fs::write(dest.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    dest
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
