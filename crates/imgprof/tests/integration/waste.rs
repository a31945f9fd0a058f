//! Categories, packages and findings on the small fixtures, with figures worked out from
//! the fixtures' definitions in `xtask/src/testdata.rs`.

use crate::common::{report_json, testdata};
use serde_json::Value;

fn findings<'r>(report: &'r Value, id: &str) -> Vec<&'r Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

#[test]
fn chown_rewrite_and_duplicates_are_found_in_both_walks() {
    // The docker-archive is skimmed (hashes only for size collisions); the gzip layout is
    // streamed (every file hashed). Both must see the same thing.
    for source in ["fixtures/chown.docker.tar", "fixtures/chown-gzip.oci"] {
        let r = report_json(&testdata(source));
        let rewrite = findings(&r, "IMG011");
        assert_eq!(rewrite.len(), 1, "{source}");
        // main.py 3000 + util.py 2000 + vendored.py 2000 + config.toml 1000, shipped again.
        assert_eq!(rewrite[0]["bytes"], 8000, "{source}");
        assert_eq!(rewrite[0]["layer"], 2);
        assert!(rewrite[0]["fix"].as_str().unwrap().contains("COPY --chown"));
        // Not also reported as an ordinary overwrite.
        assert!(findings(&r, "IMG010").is_empty(), "{source}");
        let dup = findings(&r, "IMG017");
        assert_eq!(dup.len(), 1, "{source}");
        assert_eq!(dup[0]["bytes"], 2000, "{source}: vendored.py duplicates util.py");
        // USER 1000 is set: no root finding.
        assert!(findings(&r, "IMG013").is_empty());
        // Both are informational (under a megabyte): nothing calls for a rewrite, so the
        // projection is the image as it is, and `suggest` says so.
        assert_eq!(rewrite[0]["severity"], "info");
        assert_eq!(r["projection"]["no_change"], true, "{source}");
        assert_eq!(
            r["projection"]["projected_bytes"], r["image"]["shipped_bytes"],
            "{source}"
        );
    }
}

#[test]
fn categories_add_up_to_the_totals() {
    for source in [
        "sample/sample-app.tar",
        "fixtures/layers-classic.tar",
        "fixtures/chown-gzip.oci",
    ] {
        let r = report_json(&testdata(source));
        let categories = r["categories"].as_array().unwrap();
        let final_sum: u64 = categories.iter().map(|c| c["final_bytes"].as_u64().unwrap()).sum();
        let redundant_sum: u64 = categories.iter().map(|c| c["redundant_bytes"].as_u64().unwrap()).sum();
        assert_eq!(final_sum, r["image"]["final_bytes"].as_u64().unwrap(), "{source}");
        assert_eq!(
            redundant_sum,
            r["image"]["redundant_bytes"].as_u64().unwrap(),
            "{source}"
        );
        assert_eq!(categories.last().unwrap()["id"], "other");
    }
}

#[test]
fn sample_image_findings() {
    let r = report_json(&testdata("sample/sample-app.tar"));
    let category = |id: &str| -> u64 {
        r["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["final_bytes"]
            .as_u64()
            .unwrap()
    };
    // Filler sizes from the sample's definition: pip cache 250 kB + 120 kB, apt lists
    // 2 x 150 kB, .debs 2 x 110 kB, the .git pack 140 kB + HEAD 21 B.
    assert_eq!(category("package-cache"), 370_000);
    assert_eq!(category("apt-lists"), 300_000);
    assert_eq!(category("os-package-cache"), 220_000);
    assert_eq!(category("vcs"), 140_021);
    let deleted = findings(&r, "IMG009");
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        deleted[0]["bytes"], 602_000,
        "model 600 kB + tests 2 kB, deleted by the last layer"
    );
    let fix = deleted[0]["fix"].as_str().unwrap();
    assert!(
        fix.contains(".dockerignore") && fix.contains("models") && fix.contains("tests"),
        "{fix}"
    );
    assert_eq!(findings(&r, "IMG008")[0]["severity"], "error", "the .env file");
    assert_eq!(findings(&r, "IMG013").len(), 1, "no USER");
    assert_eq!(r["base_image"]["layers"], 1);
    // Every finding's saving is counted once in the projection.
    let p = &r["projection"];
    assert_eq!(
        p["shipped_bytes"].as_u64().unwrap() - p["saves_bytes"].as_u64().unwrap(),
        p["projected_bytes"].as_u64().unwrap()
    );
}
