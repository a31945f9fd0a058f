//! Checks against real peer tools: skopeo must accept every fixture as a valid image, and
//! dive 0.13.1 must report the same efficiency, wasted bytes and size as imgprof's
//! dive-compatible figures. Skipped when the tools are absent, unless
//! `IMGPROF_REQUIRE_TOOLS=1` (as in `cargo xtask ci`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{self, assert_same_as_dive, has_tool, imgprof, report_json, testdata};

const VALID_IMAGES: [&str; 11] = [
    "oci:fixtures/sparse.oci:sparse",
    "docker-archive:fixtures/chown.docker.tar",
    "oci:fixtures/chown-gzip.oci:chown",
    "docker-archive:fixtures/layers-classic.tar",
    "docker-archive:fixtures/layers-docker25.tar",
    "oci:fixtures/layers-gzip.oci:gzip",
    "oci:fixtures/layers-zstd.oci:zstd",
    "oci-archive:fixtures/layers-gzip.oci.tar:gzip",
    "oci:fixtures/multi-platform.oci:multi",
    "oci:fixtures/two-tags.oci:two",
    "docker-archive:sample/sample-app.tar",
];

fn skopeo_ref(spec: &str) -> String {
    let (transport, rest) = spec.split_once(':').unwrap();
    format!("{transport}:{}", testdata(rest))
}

#[test]
fn skopeo_reads_every_fixture() {
    if !has_tool("skopeo") {
        return;
    }
    for spec in VALID_IMAGES {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", &skopeo_ref(spec)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{spec}: {}", String::from_utf8_lossy(&out.stderr));
        // Copying reads and verifies every blob, which `inspect` does not.
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                &skopeo_ref(spec),
                &format!("oci:{}:x", dir.path().display()),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{spec}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn dive_figures_match_on_docker_archives() {
    if !has_tool("dive") {
        return;
    }
    for rel in [
        "fixtures/layers-classic.tar",
        "fixtures/layers-docker25.tar",
        "sample/sample-app.tar",
    ] {
        let path = testdata(rel);
        assert_same_as_dive(Path::new(&path), &report_json(&path));
    }
}

#[test]
fn dive_figures_match_on_layouts_converted_by_skopeo() {
    if !has_tool("dive") || !has_tool("skopeo") {
        return;
    }
    // skopeo cannot write zstd layers into a docker-archive, so the gzip layout stands in.
    for spec in [
        "oci:fixtures/layers-gzip.oci:gzip",
        "oci:fixtures/multi-platform.oci:multi",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("image.tar");
        let out = Command::new("skopeo")
            .args(["copy", "--quiet", &skopeo_ref(spec)])
            .arg(format!("docker-archive:{}", archive.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{spec}: {}", String::from_utf8_lossy(&out.stderr));
        let ours = report_json(&skopeo_ref(spec));
        assert_same_as_dive(&archive, &ours);
    }
}

/// `report --format dive-json` is dive's own export, field by field, on every docker-archive
/// dive reads here: fixtures, the sample, the realistic images and one converted from a
/// layout by skopeo. dive lists paths of equal wasted bytes in no fixed order (it sorts
/// them with an unstable sort from a map), so those are compared as sets.
#[test]
fn dive_json_is_dives_export() {
    if !has_tool("dive") {
        return;
    }
    let mut archives: Vec<std::path::PathBuf> = [
        "fixtures/layers-classic.tar",
        "fixtures/layers-docker25.tar",
        "fixtures/chown.docker.tar",
        "sample/sample-app.tar",
    ]
    .iter()
    .map(|rel| testdata(rel).into())
    .collect();
    if let Some(images) = common::real_images_dir() {
        archives.push(images.join("naive.tar"));
        archives.push(images.join("slim.tar"));
    }
    let converted = tempfile::tempdir().unwrap();
    if has_tool("skopeo") {
        let archive = converted.path().join("gzip.tar");
        let out = Command::new("skopeo")
            .args(["copy", "--quiet", &skopeo_ref("oci:fixtures/layers-gzip.oci:gzip")])
            .arg(format!("docker-archive:{}", archive.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        archives.push(archive);
    }
    // Where no two paths tie, the bytes too: the same keys in the same order and indent.
    let classic = testdata("fixtures/layers-classic.tar");
    let file = tempfile::NamedTempFile::new().unwrap();
    let dive = Command::new("dive")
        .args(["--source", "docker-archive", &classic, "--json"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(dive.status.success());
    let ours = imgprof(&["report", "--format", "dive-json", &classic]);
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&std::fs::read(file.path()).unwrap())
    );
    let unordered_ties = |mut doc: Value| {
        if let Some(refs) = doc["image"]["fileReference"].as_array_mut() {
            refs.sort_by(|a, b| {
                b["sizeBytes"]
                    .as_u64()
                    .cmp(&a["sizeBytes"].as_u64())
                    .then_with(|| a["file"].as_str().cmp(&b["file"].as_str()))
            });
        }
        doc
    };
    for archive in &archives {
        let path = archive.to_str().unwrap();
        let out = imgprof(&["report", "--format", "dive-json", path]);
        assert!(out.status.success(), "{path}: {}", String::from_utf8_lossy(&out.stderr));
        let ours: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let theirs = common::dive_json(archive);
        assert!(
            !theirs["layer"].as_array().unwrap().is_empty(),
            "{path}: dive listed no layer"
        );
        let (ours, theirs) = (unordered_ties(ours), unordered_ties(theirs));
        if ours != theirs {
            // Name the first difference rather than print two large documents.
            for (i, (a, b)) in ours["layer"]
                .as_array()
                .unwrap()
                .iter()
                .zip(theirs["layer"].as_array().unwrap())
                .enumerate()
            {
                for key in ["index", "id", "digestId", "sizeBytes", "command"] {
                    assert_eq!(a[key], b[key], "{path}: layer {i} {key}");
                }
                let (fa, fb) = (a["fileList"].as_array().unwrap(), b["fileList"].as_array().unwrap());
                for (j, (x, y)) in fa.iter().zip(fb).enumerate() {
                    assert_eq!(x, y, "{path}: layer {i} file {j}");
                }
                assert_eq!(fa.len(), fb.len(), "{path}: layer {i} files");
            }
            assert_eq!(ours["image"], theirs["image"], "{path}: image");
            assert_eq!(ours, theirs, "{path}");
        }
    }
}
