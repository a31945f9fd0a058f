//! Choosing an image inside a source: platforms, tags, nested indexes.

use crate::common::{imgprof, report_json, testdata};

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
    let layout = testdata("fixtures/multi-platform.oci");
    let out = imgprof(&["platforms", &layout]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three rows: {text}");
    assert!(lines[0].starts_with("PLATFORM"));
    assert!(lines[1].starts_with("linux/amd64"));
    assert!(lines[2].starts_with("linux/arm64/v8"));
    assert!(
        lines[3].starts_with("unknown/unknown"),
        "attestation listed as such: {text}"
    );
    // Each platform's sizes are those of its own report.
    for (line, platform) in [(lines[1], "linux/amd64"), (lines[2], "linux/arm64")] {
        let out = imgprof(&["report", "--json", "--platform", platform, &layout]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let human = |field: &str| imgprof_human(report["image"][field].as_u64().unwrap());
        let columns: Vec<&str> = line.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
        assert!(
            columns.contains(&human("compressed_bytes").as_str()),
            "{platform}: {line}"
        );
        assert!(columns.contains(&human("shipped_bytes").as_str()), "{platform}: {line}");
    }
    let quick = imgprof(&["platforms", "--compressed-only", &layout]);
    assert!(
        String::from_utf8_lossy(&quick.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .contains(" - ")
    );
}

/// Decimal units as imgprof prints them (`1.38 MB`, `449 B`).
fn imgprof_human(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::DECIMAL)
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
