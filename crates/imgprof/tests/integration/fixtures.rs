//! The reference fixture (`xtask/src/testdata.rs`, `layers_image`) read from every source
//! format and compression. Expected figures are worked out by hand from the fixture's
//! description, not taken from imgprof's output.

use crate::common::{report_json, testdata};
use serde_json::Value;

const FORMATS: [&str; 6] = [
    "fixtures/layers-classic.tar",
    "fixtures/layers-docker25.tar",
    "fixtures/layers-gzip.oci",
    "fixtures/layers-gzip.oci.tar",
    "fixtures/layers-zstd.oci",
    "oci:fixtures/layers-gzip.oci:gzip",
];

fn report(format: &str) -> Value {
    let source = match format.strip_prefix("oci:") {
        Some(rest) => format!("oci:{}", testdata(rest)),
        None => testdata(format),
    };
    report_json(&source)
}

#[test]
fn totals_are_worked_out_by_hand() {
    for format in FORMATS {
        let r = report(format);
        let image = &r["image"];
        // Layer contents: 3810 + 1430 + 5 + 1620.
        assert_eq!(image["shipped_bytes"], 6865, "{format}");
        // Lost: os-release 100, var/cache 2010 (opaque), build.log 700, opt/data 700,
        // main.py 500. usr/bin/tool's first 1000 bytes stay visible via the hard link.
        assert_eq!(image["redundant_bytes"], 4010, "{format}");
        assert_eq!(image["final_bytes"], 6865 - 4010, "{format}");
        assert_eq!(image["layer_count"], 4, "{format}");
        // Final files: os-release, tool, long name, pax name, new.txt, main.py; one hard link.
        assert_eq!(image["final_counts"]["files"], 6, "{format}");
        assert_eq!(image["final_counts"]["hardlinks"], 1, "{format}");
        assert_eq!(image["final_counts"]["symlinks"], 1, "{format}");
        assert_eq!(image["final_counts"]["special"], 2, "{format}");
    }
}

#[test]
fn per_layer_changes_are_worked_out_by_hand() {
    for format in FORMATS {
        let r = report(format);
        let layers = r["layers"].as_array().expect("layers");
        let content: Vec<u64> = layers.iter().map(|l| l["content_bytes"].as_u64().unwrap()).collect();
        assert_eq!(content, [3810, 1430, 5, 1620], "{format}");
        let redundant: Vec<u64> = layers
            .iter()
            .map(|l| l["changes"]["redundant_bytes"].as_u64().unwrap())
            .collect();
        assert_eq!(redundant, [100 + 2010 + 700, 700 + 500, 0, 0], "{format}");

        let l1 = &layers[1]["changes"];
        assert_eq!(
            (l1["added_files"].as_u64(), l1["added_bytes"].as_u64()),
            (Some(4), Some(1310))
        );
        assert_eq!(
            (l1["modified_files"].as_u64(), l1["modified_bytes"].as_u64()),
            (Some(1), Some(120))
        );
        assert_eq!(l1["replaced_bytes"], 100);

        let l2 = &layers[2]["changes"];
        // Opaque var/cache hides 2 files; build.log 1; the opt/data whiteout hides the
        // directory and its 2 files.
        assert_eq!(l2["removed_paths"], 6, "{format}");
        assert_eq!(l2["removed_bytes"], 2010 + 700 + 700, "{format}");
        assert_eq!(l2["whiteouts_without_target"], 1, "{format}");
        assert_eq!(l2["added_files"], 1, "{format}");

        let removed: Vec<(&str, bool, u64, u64)> = layers[2]["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["path"].as_str().unwrap(),
                    r["opaque"].as_bool().unwrap(),
                    r["paths"].as_u64().unwrap(),
                    r["bytes"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            removed,
            [
                ("/var/cache", true, 2, 2010),
                ("/opt/data", false, 3, 700),
                ("/tmp/build.log", false, 1, 700),
                ("/nothere", false, 0, 0)
            ],
            "{format}"
        );

        let l3 = &layers[3]["changes"];
        assert_eq!(
            (l3["modified_files"].as_u64(), l3["modified_bytes"].as_u64()),
            (Some(2), Some(1620))
        );
        assert_eq!(l3["replaced_bytes"], 500 + 1000);

        let counts = &layers[0]["counts"];
        assert_eq!(
            (
                counts["files"].as_u64(),
                counts["hardlinks"].as_u64(),
                counts["symlinks"].as_u64()
            ),
            (Some(6), Some(1), Some(1))
        );
        assert_eq!(layers[2]["counts"]["whiteouts"], 3);
        assert_eq!(layers[2]["counts"]["opaque_whiteouts"], 1);
    }
}

#[test]
fn history_maps_to_layers_skipping_empty_entries() {
    let r = report("fixtures/layers-gzip.oci");
    let instructions: Vec<&str> = r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["instruction"].as_str().unwrap())
        .collect();
    assert!(instructions[0].starts_with("ADD file:"));
    assert_eq!(
        &instructions[1..],
        [
            "RUN apt-get install -y tool",
            "RUN rm -rf /var/cache/* /tmp/build.log /opt/data",
            "COPY app /app"
        ]
    );
}

#[test]
fn redundant_paths_name_the_cause() {
    let r = report("fixtures/layers-zstd.oci");
    let paths = r["redundant_paths"].as_array().unwrap();
    let find = |p: &str| {
        paths
            .iter()
            .find(|x| x["path"] == p)
            .unwrap_or_else(|| panic!("{p} listed"))
    };
    assert_eq!(find("/var/cache/pkg.bin")["cause"]["kind"], "hidden_by_opaque");
    assert_eq!(find("/opt/data/a.bin")["cause"]["kind"], "deleted");
    assert_eq!(find("/app/main.py")["cause"]["kind"], "overwritten");
    assert_eq!(find("/app/main.py")["cause"]["by_layer"], 3);
    assert!(
        paths.iter().all(|x| x["path"] != "/usr/bin/tool"),
        "hard-linked bytes are not lost"
    );
    let sum: u64 = paths.iter().map(|p| p["bytes"].as_u64().unwrap()).sum();
    assert_eq!(sum, 4010);
}

#[test]
fn every_format_gives_the_same_analysis() {
    let strip = |mut r: Value| {
        r.as_object_mut().unwrap().remove("source");
        for layer in r["layers"].as_array_mut().unwrap() {
            for key in ["digest", "media_type", "compression", "compressed_bytes"] {
                layer.as_object_mut().unwrap().remove(key);
            }
        }
        r["image"].as_object_mut().unwrap().remove("compressed_bytes");
        // Pull times follow the compressed size.
        r.as_object_mut().unwrap().remove("pull");
        r
    };
    let reference = strip(report(FORMATS[0]));
    for format in &FORMATS[1..] {
        assert_eq!(strip(report(format)), reference, "{format} differs from {}", FORMATS[0]);
    }
}

#[test]
fn compression_is_detected_per_layer() {
    let r = report("fixtures/layers-zstd.oci");
    let kinds: Vec<&str> = r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["compression"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["zstd", "zstd", "none", "zstd"]);
    let r = report("fixtures/layers-gzip.oci");
    // Layer 1 is two gzip members: a reader stopping after the first would miss entries.
    assert_eq!(r["layers"][1]["counts"]["files"], 5);
}

#[test]
fn dive_compatible_metrics_follow_dives_formula() {
    // dive's wasted bytes are Σ cum over paths seen in two or more layers: os-release
    // (100 + 120), app/main.py (500 + 520) and usr/bin/tool (1000 + 1100). Its image size
    // is Σ tar header sizes, here the file bytes. The efficiency itself is checked
    // against dive in `dive_compat.rs`.
    let r = report("fixtures/layers-classic.tar");
    let dive = &r["dive"];
    assert_eq!(dive["image_bytes"], 6865);
    // Paths in two or more layers: os-release 220, main.py 1020, tool 2100.
    assert_eq!(dive["wasted_bytes"], 220 + 1020 + 2100);
}

#[test]
fn sparse_files_count_their_apparent_size() {
    // xtask's sparse fixture: 1 MiB apparent, 1 KiB of data; the tar stream is 3 KiB.
    let r = report("fixtures/sparse.oci");
    assert_eq!(
        r["layers"][0]["content_bytes"],
        1 << 20,
        "as `tar -tvf` and `du --apparent-size` show it"
    );
    assert_eq!(r["layers"][0]["tar_bytes"], 3072);
    assert_eq!(r["largest_files"][0]["path"], "/var/sparse.db");
}
