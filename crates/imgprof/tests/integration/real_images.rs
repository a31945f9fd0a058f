//! The realistic images of `cargo xtask real-images` (built from real Debian packages and
//! PyPI wheels), checked against ground truth computed by other tools: GNU tar lists each
//! layer blob, umoci unpacks the image into a root filesystem, dive 0.13.1 reads the
//! docker-archive. Skipped when the images have not been built, unless
//! `IMGPROF_REQUIRE_REAL_IMAGES=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_same_as_dive, du, has_tool, real_images_dir, report_json, rootfs_files, unpack};
use serde_json::Value;

/// Σ sizes of regular files in a layer blob, as GNU tar lists them.
fn tar_listing_file_bytes(blob: &Path) -> u64 {
    let out = Command::new("tar").arg("-tvf").arg(blob).output().expect("tar runs");
    assert!(
        out.status.success(),
        "tar -tvf {}: {}",
        blob.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| line.starts_with('-'))
        .map(|line| {
            line.split_whitespace()
                .nth(2)
                .and_then(|s| s.parse::<u64>().ok())
                .expect("size column")
        })
        .sum()
}

fn layer_blobs(layout: &Path, report: &Value) -> Vec<PathBuf> {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            layout
                .join("blobs/sha256")
                .join(l["digest"].as_str().unwrap().trim_start_matches("sha256:"))
        })
        .collect()
}

fn check_against_ground_truth(images: &Path, name: &str) {
    let layout = images.join(format!("{name}.oci"));
    let report = report_json(&format!("{}:{name}", layout.display()));

    // Per layer: content bytes equal GNU tar's listing of the blob.
    let blobs = layer_blobs(&layout, &report);
    let mut shipped = 0;
    for (layer, blob) in report["layers"].as_array().unwrap().iter().zip(&blobs) {
        let expected = tar_listing_file_bytes(blob);
        assert_eq!(layer["content_bytes"], expected, "{name} layer {}", layer["index"]);
        shipped += expected;
    }
    assert_eq!(report["image"]["shipped_bytes"], shipped, "{name}");

    // Final filesystem: umoci applies the layers (whiteouts included) into a rootfs.
    let (_guard, rootfs) = unpack(&layout, name);
    let final_bytes = du(&rootfs_files(&rootfs), |_| true);
    assert_eq!(report["image"]["final_bytes"], final_bytes, "{name}: final filesystem");
    assert_eq!(
        report["image"]["redundant_bytes"],
        shipped - final_bytes,
        "{name}: redundancy"
    );

    // The docker-archive of the same image gives the same analysis.
    let archive = report_json(&images.join(format!("{name}.tar")).display().to_string());
    assert_eq!(archive["image"]["final_bytes"], report["image"]["final_bytes"]);
    assert_eq!(archive["image"]["redundant_bytes"], report["image"]["redundant_bytes"]);
    assert_eq!(archive["dive"], report["dive"]);
}

#[test]
fn naive_image_matches_tar_and_umoci() {
    let Some(images) = real_images_dir() else { return };
    if !has_tool("umoci") {
        return;
    }
    check_against_ground_truth(&images, "naive");
}

#[test]
fn slim_image_matches_tar_and_umoci() {
    let Some(images) = real_images_dir() else { return };
    if !has_tool("umoci") {
        return;
    }
    check_against_ground_truth(&images, "slim");
}

#[test]
fn dive_figures_match_on_realistic_images() {
    let Some(images) = real_images_dir() else { return };
    if !has_tool("dive") {
        return;
    }
    for name in ["naive", "slim"] {
        let archive = images.join(format!("{name}.tar"));
        assert_same_as_dive(&archive, &report_json(&archive.display().to_string()));
    }
}
