//! Broken inputs: each gets a one-line error on stderr naming the file or blob and what
//! is wrong, exit code 2, no output on stdout and never a panic.

mod common;

use common::{imgprof, testdata};

fn assert_error(source: &str, expected: &[&str]) {
    let out = imgprof(&["report", source]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{source}: exit code; stderr: {stderr}");
    assert!(out.stdout.is_empty(), "{source}: no partial report on stdout");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{source}: one line, got {stderr}");
    assert!(lines[0].starts_with("imgprof: error: "), "{stderr}");
    for needle in expected {
        assert!(stderr.contains(needle), "{source}: expected {needle:?} in {stderr}");
    }
}

#[test]
fn missing_path() {
    assert_error("/nonexistent/app.tar", &["/nonexistent/app.tar", "no such file"]);
}

#[test]
fn a_file_that_is_no_image() {
    assert_error(
        &testdata("bad/not-an-image.txt"),
        &["not-an-image.txt", "not an image", "tar"],
    );
    assert_error(&testdata("bad/empty.tar"), &["empty.tar", "not an image"]);
    assert_error(&testdata("bad/empty-dir"), &["empty-dir", "neither manifest.json"]);
}

#[test]
fn a_compressed_archive_says_how_to_fix_it() {
    assert_error(
        &testdata("bad/compressed.docker.tar.gz"),
        &["gzip-compressed", "gunzip"],
    );
}

#[test]
fn truncated_gzip_layer() {
    assert_error(&testdata("bad/truncated-gzip.oci"), &["blobs/sha256/", "gzip stream"]);
}

#[test]
fn truncated_tar_layer() {
    assert_error(
        &testdata("bad/truncated-tar.oci"),
        &["blobs/sha256/", "tar stream", "past the end of the blob"],
    );
}

#[test]
fn blob_digest_mismatch() {
    assert_error(
        &testdata("bad/digest-mismatch.oci"),
        &[
            "blobs/sha256/2ec69cd0c9b4",
            "blob digest mismatch",
            "expected sha256:2ec69cd0c9b4",
        ],
    );
}

#[test]
fn diff_id_mismatch() {
    assert_error(
        &testdata("bad/diffid-mismatch.oci"),
        &["blobs/sha256/", "diff_id", "mismatch"],
    );
}

#[test]
fn manifest_names_a_missing_blob() {
    assert_error(
        &testdata("bad/missing-blob.oci"),
        &["blobs/sha256/2ec69cd0c9b4", "missing"],
    );
    assert_error(&testdata("bad/missing-layer.docker.tar"), &["layer.tar", "missing"]);
}

#[test]
fn diff_ids_count_differs_from_layers() {
    assert_error(
        &testdata("bad/diffid-count.oci"),
        &["2 diff_ids", "1 layers", "blobs/sha256/"],
    );
}

#[test]
fn entry_climbing_out_of_the_root() {
    assert_error(
        &testdata("bad/escape-path.oci"),
        &["../../etc/passwd", "above the image root", "blobs/sha256/"],
    );
}

#[test]
fn absolute_entry_names_are_shown_relative_with_a_warning() {
    let out = imgprof(&["report", "--json", &testdata("bad/absolute-path.oci")]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("absolute names"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["largest_files"][0]["path"], "/abs/path");
}

#[test]
fn unknown_platform_lists_the_available_ones() {
    let out = imgprof(&[
        "report",
        "--platform",
        "linux/s390x",
        &testdata("fixtures/multi-platform.oci"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("linux/s390x"), "{stderr}");
    assert!(stderr.contains("linux/amd64, linux/arm64/v8"), "{stderr}");
}

#[test]
fn unknown_tag_lists_the_available_ones() {
    let out = imgprof(&["report", &format!("{}:three", testdata("fixtures/two-tags.oci"))]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"three\"") && stderr.contains("one, two"), "{stderr}");
}

#[test]
fn invalid_platform_syntax() {
    let out = imgprof(&[
        "report",
        "--platform",
        "linux",
        &testdata("fixtures/multi-platform.oci"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("os/arch"));
}

#[test]
fn a_registry_that_cannot_be_reached_names_the_reference() {
    // Port 1 on loopback refuses connections: no retries, and nothing leaves the machine.
    assert_error(
        "127.0.0.1:1/app:1",
        &["127.0.0.1:1/app", "manifests/1", "request failed"],
    );
}
