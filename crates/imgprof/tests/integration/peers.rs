//! Checks against real peer tools: skopeo must accept every fixture as a valid image, and
//! dive 0.13.1 must report the same efficiency, wasted bytes and size as imgprof's
//! dive-compatible figures. Skipped when the tools are absent, unless
//! `IMGPROF_REQUIRE_TOOLS=1` (as in `cargo xtask ci`).

use std::path::Path;
use std::process::Command;

use crate::common::{assert_same_as_dive, has_tool, report_json, testdata};

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
