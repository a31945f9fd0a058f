//! `imgprof files`: the listing against the filesystem a runtime unpacks, a layer against
//! its own tar, and the figures against the report's.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use serde_json::Value;

use crate::common::{self, imgprof, real_images_dir, report_json, testdata};

fn listed(args: &[&str]) -> Vec<Value> {
    let mut full = vec!["files", "--format", "jsonl"];
    full.extend_from_slice(args);
    let out = imgprof(&full);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Every path below `rootfs` with its kind and, for a file, its size and mode.
fn unpacked(rootfs: &Path) -> BTreeMap<String, (&'static str, u64, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![rootfs.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable") {
            let path = entry.expect("an entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let kind = match meta.file_type() {
                t if t.is_dir() => "dir",
                t if t.is_symlink() => "symlink",
                t if t.is_char_device() => "char-device",
                t if t.is_fifo() => "fifo",
                _ => "file",
            };
            if kind == "dir" {
                stack.push(path.clone());
            }
            let size = if kind == "file" { meta.size() } else { 0 };
            let rel = format!("/{}", path.strip_prefix(rootfs).expect("below").display());
            out.insert(rel, (kind, size, meta.mode() & 0o7777));
        }
    }
    out
}

/// The final filesystem, entry for entry, as umoci unpacks it: the same paths, kinds, sizes
/// and modes (a hard link is a file there).
#[test]
fn the_final_filesystem_is_what_a_runtime_unpacks() {
    if !common::has_tool("umoci") {
        return;
    }
    let layout = testdata("fixtures/layers-gzip.oci");
    let (_dir, rootfs) = common::unpack(Path::new(&layout), "gzip");
    let rows = listed(&[&layout]);
    let ours: BTreeMap<String, (&str, u64, u32)> = rows
        .iter()
        .map(|row| {
            let kind = match row["kind"].as_str().expect("a kind") {
                "hardlink" => "file",
                other => other,
            };
            let size = if kind == "file" {
                row["bytes"].as_u64().expect("bytes")
            } else {
                0
            };
            let mode = u32::from_str_radix(row["mode"].as_str().expect("a mode"), 8).expect("octal");
            (row["path"].as_str().expect("a path").to_owned(), (kind, size, mode))
        })
        .collect();
    let theirs = unpacked(&rootfs);
    let mut ours_sizes = ours.clone();
    // A hard link's row carries no bytes of its own; unpacked, it has its file's size.
    for (path, (kind, size, _)) in ours_sizes.iter_mut() {
        if *kind == "file" && *size == 0 {
            *size = theirs.get(path).map_or(0, |t| t.1);
        }
    }
    let ours_kinds: Vec<(&String, &str, u64)> = ours_sizes.iter().map(|(p, (k, s, _))| (p, *k, *s)).collect();
    let theirs_kinds: Vec<(&String, &str, u64)> = theirs.iter().map(|(p, (k, s, _))| (p, *k, *s)).collect();
    assert_eq!(ours_kinds, theirs_kinds);
    for (path, (kind, _, mode)) in &ours {
        if *kind == "file" {
            assert_eq!(*mode, theirs[path].2, "{path}");
        }
    }
    // Whiteouts and opaque markers took effect: nothing they delete is listed.
    assert!(!ours.contains_key("/tmp/build.log") && !ours.contains_key("/var/cache/pkg.bin"));
}

/// One layer's rows are its tar's entries, in order, whiteouts as the paths they delete.
#[test]
fn a_layer_lists_its_own_tar() {
    let layout = testdata("fixtures/layers-gzip.oci");
    let report = report_json(&layout);
    let layers = report["layers"].as_array().expect("layers");
    for (index, layer) in layers.iter().enumerate() {
        let digest = layer["digest"].as_str().expect("a digest");
        let blob = Path::new(&layout)
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        let bytes = std::fs::read(&blob).expect("the blob");
        let tar = {
            use std::io::Read as _;
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .expect("gzip");
            out
        };
        let names: Vec<String> = tar::Archive::new(&tar[..])
            .entries()
            .expect("a tar")
            .map(|e| {
                let e = e.expect("an entry");
                let name = e.path().expect("a path").display().to_string();
                let name = name.trim_start_matches("./").trim_end_matches('/').to_owned();
                match name.rsplit_once('/').map_or(("", name.as_str()), |(d, n)| (d, n)) {
                    (dir, ".wh..wh..opq") => format!("/{dir}"),
                    (dir, n) if n.starts_with(".wh.") => {
                        let target = &n[4..];
                        if dir.is_empty() {
                            format!("/{target}")
                        } else {
                            format!("/{dir}/{target}")
                        }
                    }
                    _ => format!("/{name}"),
                }
            })
            .filter(|n| n != "/")
            .collect();
        let rows = listed(&["--layer", &index.to_string(), &layout]);
        let paths: Vec<String> = rows
            .iter()
            .map(|r| r["path"].as_str().expect("a path").to_owned())
            .collect();
        assert_eq!(paths, names, "layer {index}");
        assert!(rows.iter().all(|r| r["layer"] == index));
        // The report's counts of the same layer.
        let count = |kind: &str| rows.iter().filter(|r| r["kind"] == kind).count() as u64;
        let counts = &layer["counts"];
        assert_eq!(count("file"), counts["files"].as_u64().expect("files"), "layer {index}");
        assert_eq!(
            count("whiteout"),
            counts["whiteouts"].as_u64().expect("whiteouts"),
            "layer {index}"
        );
        assert_eq!(
            count("opaque-whiteout"),
            counts["opaque_whiteouts"].as_u64().expect("opaque"),
            "layer {index}"
        );
        assert_eq!(
            rows.iter().filter(|r| r["whiteout"] == true).count() as u64,
            count("whiteout") + count("opaque-whiteout")
        );
    }
    // --changes is every layer's rows, bottom first.
    let all = listed(&["--changes", &layout]);
    let by_layer: usize = (0..layers.len())
        .map(|i| listed(&["--layer", &i.to_string(), &layout]).len())
        .sum();
    assert_eq!(all.len(), by_layer);
    assert!(all.windows(2).all(|w| w[0]["layer"].as_u64() <= w[1]["layer"].as_u64()));
}

/// CSV and JSON Lines hold the same rows; a missing layer is an error naming the range.
#[test]
fn csv_and_json_lines_agree() {
    let sample = testdata("sample/sample-app.tar");
    let out = imgprof(&["files", &sample]);
    assert!(out.status.success());
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let header: Vec<String> = reader.headers().expect("a header").iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "path", "layer", "kind", "bytes", "mode", "uid", "gid", "link", "category", "package", "whiteout"
        ]
    );
    let csv_rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
        .collect();
    let json_rows = listed(&[&sample]);
    assert_eq!(csv_rows.len(), json_rows.len());
    for (csv_row, json_row) in csv_rows.iter().zip(&json_rows) {
        for (field, value) in header.iter().zip(csv_row) {
            let expected = match &json_row[field] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(value, &expected, "{field} of {}", json_row["path"]);
        }
    }
    let bad = imgprof(&["files", "--layer", "99", &sample]);
    assert_eq!(bad.status.code(), Some(2));
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(
        message.contains("has no layer 99") && message.contains("0 to 4"),
        "{message}"
    );
}

/// On the realistic image: the final rows' bytes by category are the report's categories,
/// and every package named is one the report lists.
#[test]
fn categories_and_packages_are_the_reports() {
    let Some(images) = real_images_dir() else { return };
    let layout = format!("{}:naive", images.join("naive.oci").display());
    let report = report_json(&layout);
    let rows = listed(&[&layout]);
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows.iter().filter(|r| r["kind"] == "file") {
        *by_category
            .entry(row["category"].as_str().expect("a category").to_owned())
            .or_default() += row["bytes"].as_u64().expect("bytes");
    }
    let reported: BTreeMap<String, u64> = report["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .filter(|c| c["final_bytes"].as_u64() > Some(0))
        .map(|c| {
            (
                c["id"].as_str().expect("an id").to_owned(),
                c["final_bytes"].as_u64().expect("bytes"),
            )
        })
        .collect();
    assert_eq!(by_category, reported);
    let packages: std::collections::HashSet<&str> = report["packages"]["list"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["name"].as_str().expect("a name"))
        .collect();
    let owned: Vec<&Value> = rows.iter().filter(|r| !r["package"].is_null()).collect();
    assert!(owned.len() > 1000, "dpkg and pip own most files: {}", owned.len());
    assert!(
        owned
            .iter()
            .all(|r| packages.contains(r["package"].as_str().expect("a name")))
    );
    let git = rows
        .iter()
        .find(|r| r["path"] == "/usr/bin/git")
        .expect("git is installed");
    assert_eq!(git["package"], "git");
}
