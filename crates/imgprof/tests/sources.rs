//! Choosing an image inside a source: platforms, tags, nested indexes.

mod common;

use common::{imgprof, report_json, testdata};

#[test]
fn multi_platform_index_defaults_to_the_host() {
    let r = report_json(&testdata("fixtures/multi-platform.oci"));
    assert_eq!(r["source"]["platform"], "linux/amd64");
    assert_eq!(r["source"]["tag"], "multi");
}

#[test]
fn platform_flag_picks_from_a_nested_index() {
    for wanted in ["linux/arm64", "linux/arm64/v8"] {
        let out = imgprof(&[
            "report",
            "--json",
            "--platform",
            wanted,
            &testdata("fixtures/multi-platform.oci"),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["source"]["platform"], "linux/arm64/v8");
        assert_eq!(r["layers"][0]["instruction"], "COPY arch-arm64 /etc/arch");
    }
}

#[test]
fn platforms_lists_every_image_but_attestations() {
    let out = imgprof(&["platforms", &testdata("fixtures/multi-platform.oci")]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("linux/amd64"));
    assert!(lines[1].starts_with("linux/arm64/v8"));
    assert!(
        lines[2].starts_with("unknown/unknown"),
        "attestation listed as such: {text}"
    );
}

#[test]
fn tags_choose_between_images_of_a_layout() {
    let one = report_json(&format!("{}:one", testdata("fixtures/two-tags.oci")));
    let two = report_json(&format!("{}:two", testdata("fixtures/two-tags.oci")));
    assert_eq!(one["source"]["platform"], "linux/amd64");
    assert_eq!(two["source"]["platform"], "linux/arm64/v8");
}

#[test]
fn base_flag_marks_the_given_images_layers() {
    let image = testdata("fixtures/layers-gzip.oci");
    let out = imgprof(&[
        "report",
        "--json",
        "--base",
        &testdata("fixtures/layers-classic.tar"),
        &image,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Same diff_ids: every layer is the base.
    assert_eq!(r["base_image"]["layers"], 4);
    assert_eq!(r["base_image"]["how"], "--base");
    let other = imgprof(&[
        "report",
        "--json",
        "--base",
        &testdata("fixtures/multi-platform.oci"),
        &image,
    ]);
    let r: serde_json::Value = serde_json::from_slice(&other.stdout).unwrap();
    assert_eq!(r["base_image"]["layers"], 0, "no shared layers");
    let without = report_json(&image);
    assert_eq!(without["base_image"]["how"], "history");
    assert_eq!(without["base_image"]["layers"], 1, "the base's CMD closes layer 0");
}
