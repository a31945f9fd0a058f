//! The hostile-input corpus (`testdata/bad`, written by `cargo xtask testdata`): one test
//! per case, stating its outcome. Broken inputs get one error line on stderr naming the
//! file or blob and what is wrong, exit code 2 and nothing on stdout; inputs that are odd
//! but valid tar give a report with the figures stated here. Every run is bounded in time
//! (never a hang) and never ends in a panic (exit code 101).

use std::process::ExitStatus;
use std::time::Duration;

use crate::common::measured::{Measured, run_measured};
use crate::common::{imgprof, testdata};
use serde_json::Value;

/// How long any case may run (the 10,000-deep tree takes seconds in a debug build).
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Runs the binary, failing the test if it still runs at [`TIME_LIMIT`] (a hang).
fn run_bounded(args: &[&str]) -> Measured {
    let run = run_measured(args, &[], TIME_LIMIT);
    assert!(
        !run.timed_out,
        "imgprof {args:?} still ran after {TIME_LIMIT:?}: a hang"
    );
    run
}

fn run_case(case: &str, extra: &[&str]) -> Measured {
    let path = testdata(&format!("bad/{case}"));
    let args: Vec<&str> = ["report", "--json"]
        .into_iter()
        .chain(extra.iter().copied())
        .chain([path.as_str()])
        .collect();
    let run = run_bounded(&args);
    assert_ne!(run.code, Some(101), "{case}: panicked: {}", run.stderr);
    assert!(run.code.is_some(), "{case}: killed by a signal: {:?}", run.signal);
    run
}

/// A refused input: exit 2, nothing on stdout, one error line holding every needle.
fn refused(case: &str, needles: &[&str]) -> Measured {
    let run = run_case(case, &[]);
    assert_error_output(case, &run.status(), &run.stdout, &run.stderr, needles);
    run
}

fn assert_error_output(source: &str, status: &ExitStatus, stdout: &[u8], stderr: &str, needles: &[&str]) {
    assert_eq!(status.code(), Some(2), "{source}: exit code; stderr: {stderr}");
    assert!(stdout.is_empty(), "{source}: no partial report on stdout");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{source}: one line, got {stderr}");
    assert!(lines[0].starts_with("imgprof: error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{source}: expected {needle:?} in {stderr}");
    }
}

/// An accepted input: exit 0 and a JSON report.
fn accepted(case: &str) -> (Value, String) {
    let run = run_case(case, &[]);
    assert_eq!(run.code, Some(0), "{case}: {}", run.stderr);
    let report = serde_json::from_slice(&run.stdout).expect("the report is JSON");
    (report, run.stderr)
}

fn sizes(report: &Value) -> (u64, u64, u64) {
    let image = &report["image"];
    let n = |k: &str| image[k].as_u64().unwrap_or(u64::MAX);
    (n("shipped_bytes"), n("final_bytes"), n("redundant_bytes"))
}

/// One `#[test]` per case, and the list of cases for the completeness check.
macro_rules! corpus {
    ($($test:ident($var:ident = $case:literal) $body:block)*) => {
        $(
            #[test]
            fn $test() {
                let $var: &str = $case;
                $body
            }
        )*
        const CASES: &[&str] = &[$($case),*];
    };
}

corpus! {
    not_an_image(case = "not-an-image.txt") { refused(case, &["not-an-image.txt", "not an image", "tar"]); }
    empty_tar(case = "empty.tar") { refused(case, &["empty.tar", "not an image", "no tar entries"]); }
    empty_dir(case = "empty-dir") { refused(case, &["empty-dir", "neither manifest.json"]); }
    layout_without_index(case = "layout-without-index.oci") { refused(case, &["index.json", "missing"]); }

    truncated_gzip(case = "truncated-gzip.oci") { refused(case, &["blobs/sha256/", "gzip stream", "incomplete"]); }
    truncated_zstd(case = "truncated-zstd.oci") { refused(case, &["blobs/sha256/", "zstd stream", "incomplete"]); }
    gzip_crc_mismatch(case = "gzip-crc-mismatch.oci") { refused(case, &["blobs/sha256/", "gzip stream", "checksum"]); }
    gzip_length_mismatch(case = "gzip-length-mismatch.oci") { refused(case, &["blobs/sha256/", "gzip stream", "checksum"]); }
    gzip_trailing_garbage(case = "gzip-trailing-garbage.oci") { refused(case, &["blobs/sha256/", "gzip"]); }
    gzip_of_not_a_tar(case = "gzip-of-not-a-tar.oci") { refused(case, &["blobs/sha256/", "malformed tar header after 0 entries"]); }
    zero_byte_layer(case = "zero-byte-layer.oci") { refused(case, &["layer 0", "empty blob (0 bytes)"]); }

    truncated_tar(case = "truncated-tar.oci") { refused(case, &["blobs/sha256/", "tar stream", "past the end of the blob"]); }
    tar_bad_checksum(case = "tar-bad-checksum.oci") { refused(case, &["blobs/sha256/", "checksum mismatch"]); }
    tar_huge_size(case = "tar-huge-size.oci") { refused(case, &["huge.bin", "past the end of the blob"]); }
    tar_negative_size(case = "tar-negative-size.oci") { refused(case, &["blobs/sha256/", "malformed tar header", "size"]); }
    tar_bad_pax_length(case = "tar-bad-pax-length.oci") { refused(case, &["tar entry \"short\"", "malformed PAX header"]); }
    tar_bad_pax_number(case = "tar-bad-pax-number.oci") { refused(case, &["tar entry \"short\"", "malformed PAX header"]); }
    tar_longname_100m(case = "tar-longname-100m.oci") {
        let run = refused(case, &["blobs/sha256/", "more than 16 MiB of tar metadata"]);
        assert!(run.peak_rss_kib < 200 * 1024, "peak memory {} KiB on a 100 MB name", run.peak_rss_kib);
    }
    tar_nul_in_name(case = "tar-nul-in-name.oci") { refused(case, &["etc/nul\\0hidden", "NUL byte"]); }
    tar_unknown_entry_type(case = "tar-unknown-entry-type.oci") { refused(case, &["tar entry \"weird\"", "unsupported tar entry type 'Z'"]); }
    plain_not_a_tar(case = "plain-not-a-tar.oci") { refused(case, &["blobs/sha256/", "tar stream", "malformed tar header"]); }
    tar_name_5000_bytes(case = "tar-name-5000-bytes.oci") {
        let (report, _) = accepted(case);
        let path = report["largest_files"][0]["path"].as_str().unwrap_or_default();
        assert!(path.len() > 5000, "the long name is kept whole: {} bytes", path.len());
    }
    tar_non_utf8_name(case = "tar-non-utf8-name.oci") {
        let (report, _) = accepted(case);
        assert_eq!(report["largest_files"][0]["path"], "/etc/caf\u{FFFD}", "shown lossily");
    }
    tar_control_chars_in_name(case = "tar-control-chars-in-name.oci") {
        let path = testdata(&format!("bad/{case}"));
        let run = run_bounded(&["report", &path]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let text = String::from_utf8_lossy(&run.stdout);
        assert!(!text.contains(['\u{1b}', '\u{7}', '\r']), "raw control characters in {text:?}");
        assert!(text.contains("/app/\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\rnot-what-it-seems"), "{text}");
        let (report, _) = accepted(case);
        assert_eq!(report["largest_files"][0]["path"], "/app/\u{1b}]0;owned\u{7}\u{1b}[2J\rnot-what-it-seems", "JSON keeps the true name");
    }

    escape_path(case = "escape-path.oci") { refused(case, &["../../etc/passwd", "above the image root", "blobs/sha256/"]); }
    escape_inside_path(case = "escape-inside-path.oci") { refused(case, &["usr/../../etc/shadow", "above the image root"]); }
    hardlink_escape(case = "hardlink-escape.oci") { refused(case, &["hard link target", "../../../etc/passwd", "above the image root"]); }
    absolute_path(case = "absolute-path.oci") {
        let (report, stderr) = accepted(case);
        assert!(stderr.contains("absolute names"), "{stderr}");
        assert_eq!(report["largest_files"][0]["path"], "/abs/path");
    }
    deep_10000_dirs(case = "deep-10000-dirs.oci") {
        let (report, _) = accepted(case);
        assert_eq!(report["image"]["final_counts"]["dirs"], 10_000);
        assert_eq!(report["image"]["final_counts"]["files"], 1);
    }
    hardlink_missing_target(case = "hardlink-missing-target.oci") {
        let (report, stderr) = accepted(case);
        assert!(stderr.contains("1 hard links point to paths no layer holds"), "{stderr}");
        assert_eq!(report["layers"][0]["changes"]["dangling_hard_links"], 1);
    }
    hardlink_cycle(case = "hardlink-cycle.oci") {
        let (report, stderr) = accepted(case);
        assert!(stderr.contains("hard links point to paths no layer holds"), "{stderr}");
        assert_eq!(report["layers"][0]["changes"]["dangling_hard_links"], 1);
    }
    symlink_loops(case = "symlink-loops.oci") {
        let (report, _) = accepted(case);
        assert_eq!(report["image"]["final_counts"]["symlinks"], 4, "loops are stored, never followed");
    }
    whiteout_never_existed(case = "whiteout-never-existed.oci") {
        let (report, _) = accepted(case);
        let changes = &report["layers"][1]["changes"];
        assert!(changes["whiteouts_without_target"].as_u64() >= Some(1), "{changes}");
        assert_eq!(changes["removed_bytes"], 0);
    }
    opaque_root(case = "opaque-root.oci") {
        let (report, _) = accepted(case);
        assert_eq!(sizes(&report), (8, 7, 1), "shipped, final, redundant");
    }
    whiteout_empty_name(case = "whiteout-empty-name.oci") { refused(case, &["etc/.wh.", "whiteout names no file"]); }
    duplicate_path(case = "duplicate-path.oci") {
        let (report, _) = accepted(case);
        assert_eq!(sizes(&report), (400, 300, 100), "the last copy wins; the first is redundant");
        assert_eq!(report["layers"][0]["changes"]["duplicate_paths"], 1);
    }
    file_then_dir(case = "file-then-dir.oci") {
        let (report, _) = accepted(case);
        assert_eq!(sizes(&report), (30, 20, 10), "shipped, final, redundant");
    }

    manifest_not_json(case = "manifest-not-json.oci") { refused(case, &["blobs/sha256/", "invalid JSON"]); }
    manifest_truncated(case = "manifest-truncated.oci") { refused(case, &["blobs/sha256/", "invalid JSON", "EOF"]); }
    manifest_deep_nesting(case = "manifest-deep-nesting.oci") { refused(case, &["blobs/sha256/", "invalid JSON"]); }
    manifest_huge(case = "manifest-huge.oci") { refused(case, &["blobs/sha256/", "too large for a JSON document (limit 33554432)"]); }
    manifest_no_layers(case = "manifest-no-layers.oci") { refused(case, &["blobs/sha256/", "missing field"]); }
    config_deep_nesting(case = "config-deep-nesting.oci") { refused(case, &["blobs/sha256/", "invalid JSON"]); }
    zero_byte_config(case = "zero-byte-config.oci") { refused(case, &["blobs/sha256/e3b0c44298fc", "invalid JSON"]); }
    config_no_rootfs(case = "config-no-rootfs.oci") { refused(case, &["blobs/sha256/", "missing field `rootfs`"]); }
    config_diffid_not_a_string(case = "config-diffid-not-a-string.oci") { refused(case, &["blobs/sha256/", "expected a string"]); }
    diffid_count(case = "diffid-count.oci") { refused(case, &["2 diff_ids", "1 layers", "blobs/sha256/"]); }
    diffid_mismatch(case = "diffid-mismatch.oci") { refused(case, &["blobs/sha256/", "diff_id", "mismatch"]); }
    index_not_json(case = "index-not-json.oci") { refused(case, &["index.json", "invalid JSON"]); }
    index_empty(case = "index-empty.oci") { refused(case, &["index.json", "contains no image manifest"]); }
    index_dangling(case = "index-dangling.oci") { refused(case, &["blobs/sha256/8a62c4957f35", "missing from the image"]); }
    index_nested_dangling(case = "index-nested-dangling.oci") { refused(case, &["blobs/sha256/8a62c4957f35", "missing from the image"]); }

    unknown_media_type(case = "unknown-media-type.oci") { refused(case, &["layer 0", "application/x-unknown-layer", "not an image layer"]); }
    unsupported_digest_algorithm(case = "unsupported-digest-algorithm.oci") { refused(case, &["md5:", "unsupported algorithm"]); }
    digest_path_traversal(case = "digest-path-traversal.oci") { refused(case, &["sha256:../../../../etc/passwd", "not 64 lowercase hex"]); }
    digest_malformed_hex(case = "digest-malformed-hex.oci") { refused(case, &["sha256:ABCDEF", "not 64 lowercase hex"]); }
    descriptor_negative_size(case = "descriptor-negative-size.oci") { refused(case, &["blobs/sha256/", "-1"]); }
    descriptor_size_too_large(case = "descriptor-size-too-large.oci") { refused(case, &["blobs/sha256/2ec69cd0c9b4", "117 bytes but the manifest says 1117"]); }
    descriptor_size_too_small(case = "descriptor-size-too-small.oci") { refused(case, &["blobs/sha256/2ec69cd0c9b4", "117 bytes but the manifest says 58"]); }
    digest_mismatch(case = "digest-mismatch.oci") {
        refused(case, &["blobs/sha256/2ec69cd0c9b4", "blob digest mismatch", "expected sha256:2ec69cd0c9b4"]);
    }
    missing_blob(case = "missing-blob.oci") { refused(case, &["blobs/sha256/2ec69cd0c9b4", "missing"]); }

    missing_layer_docker(case = "missing-layer.docker.tar") { refused(case, &["layer.tar", "missing from the image"]); }
    missing_config_docker(case = "missing-config.docker.tar") { refused(case, &[".json", "missing from the image"]); }
    manifest_not_json_docker(case = "manifest-not-json.docker.tar") { refused(case, &["manifest.json", "invalid JSON"]); }
    manifest_escape_docker(case = "manifest-escape.docker.tar") { refused(case, &["../../etc/passwd", "missing from the image"]); }
    compressed_docker(case = "compressed.docker.tar.gz") { refused(case, &["gzip-compressed", "gunzip"]); }
    truncated_docker(case = "truncated.docker.tar") { refused(case, &["truncated.docker.tar", "not an image"]); }

    zstd_bomb(case = "zstd-bomb-100g.oci") {
        let run = refused(case, &["expands past 1073741824 bytes", "decompression bomb", "--max-expansion"]);
        assert!(run.peak_rss_kib < 200 * 1024, "bounded memory on the bomb: {} KiB", run.peak_rss_kib);
    }
}

#[test]
fn every_case_in_the_corpus_has_a_test() {
    let dir = testdata("bad");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("testdata/bad exists")
        .map(|e| e.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = CASES.iter().map(|c| c.to_string()).collect();
    tested.sort();
    assert_eq!(on_disk, tested, "testdata/bad and the tests here list the same cases");
    assert!(CASES.len() >= 40, "{} cases", CASES.len());
}

#[test]
fn the_expansion_limit_can_be_raised() {
    // At a ratio high enough the bomb's first gigabytes pass the guard, which then trips
    // at the larger limit: the flag is read, and the message names the new figure.
    let run = run_case("zstd-bomb-100g.oci", &["--max-expansion", "1000"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("expands past 3278597000 bytes"), "{}", run.stderr);
}

#[test]
fn missing_path() {
    let out = imgprof(&["report", "/nonexistent/app.tar"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_error_output(
        "missing path",
        &out.status,
        &out.stdout,
        &stderr,
        &["/nonexistent/app.tar", "no such file"],
    );
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
    let out = imgprof(&["report", "127.0.0.1:1/app:1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_error_output(
        "unreachable registry",
        &out.status,
        &out.stdout,
        &stderr,
        &["127.0.0.1:1/app", "manifests/1", "request failed"],
    );
}
