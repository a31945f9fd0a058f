//! `imgprof compare A B`: every delta is the difference of the two single-image reports
//! (on the realistic naive and slim images), layers both images share are fetched once
//! from a real registry (access log), snapshots of the table and Markdown, and the exit
//! codes of `--fail-if-grows` and of bad input.

use crate::common;
use std::collections::BTreeMap;
use std::path::Path;

use crate::common::registry::TestRegistry;
use crate::common::{imgprof, imgprof_cached, report_json, testdata};
use serde_json::Value;

/// `imgprof compare --json ARGS`, which must succeed.
fn compare_json(args: &[&str]) -> Value {
    let out = imgprof(&[&["compare", "--json", "--top", "100000"], args].concat());
    assert!(
        out.status.success(),
        "compare {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let comparison = serde_json::from_slice(&out.stdout).expect("comparison is JSON");
    crate::common::schema::assert_schema("compare.schema.json", &comparison);
    comparison
}

fn u(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("not a size: {value}"))
}

fn i(value: &Value) -> i64 {
    value.as_i64().unwrap_or_else(|| panic!("not a delta: {value}"))
}

/// `delta` holds `a`, `b` and `b − a`, with `a` and `b` as the reports have them.
fn assert_delta(delta: &Value, a: u64, b: u64, what: &str) {
    assert_eq!((u(&delta["a"]), u(&delta["b"])), (a, b), "{what}: a and b");
    assert_eq!(i(&delta["delta"]), b as i64 - a as i64, "{what}: delta");
}

/// A report's packages by (manager, name): (versions, bytes), as the comparison keys them.
fn packages(report: &Value) -> BTreeMap<(String, String), (Vec<String>, u64)> {
    let mut by_name: BTreeMap<(String, String), (Vec<String>, u64)> = BTreeMap::new();
    for p in report["packages"]["list"].as_array().expect("packages") {
        let key = (
            p["manager"].as_str().unwrap().to_owned(),
            p["name"].as_str().unwrap().to_owned(),
        );
        let entry = by_name.entry(key).or_default();
        entry.0.push(p["version"].as_str().unwrap().to_owned());
        entry.1 += u(&p["bytes"]);
    }
    by_name
}

fn finding_ids(report: &Value) -> Vec<String> {
    let mut ids: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    ids.dedup();
    ids.sort();
    ids.dedup();
    ids
}

/// Every figure of the comparison against the two reports it was built from.
fn assert_deltas_are_differences(cmp: &Value, a: &Value, b: &Value) {
    let t = &cmp["totals"];
    for field in [
        "compressed_bytes",
        "tar_bytes",
        "shipped_bytes",
        "final_bytes",
        "redundant_bytes",
        "layer_count",
    ] {
        assert_delta(&t[field], u(&a["image"][field]), u(&b["image"][field]), field);
    }
    assert_delta(
        &t["final_files"],
        u(&a["image"]["final_counts"]["files"]),
        u(&b["image"]["final_counts"]["files"]),
        "final files",
    );
    assert_delta(
        &t["projected_bytes"],
        u(&a["projection"]["projected_bytes"]),
        u(&b["projection"]["projected_bytes"]),
        "projection",
    );
    let pull = t["pull"].as_array().expect("pull times");
    assert_eq!(pull.len(), a["pull"]["links"].as_array().unwrap().len());
    for (i, p) in pull.iter().enumerate() {
        let (x, y) = (&a["pull"]["links"][i], &b["pull"]["links"][i]);
        assert_eq!(p["link"], x["link"]);
        assert_eq!(p["a_seconds"], x["seconds"]);
        assert_eq!(p["b_seconds"], y["seconds"]);
        let delta = y["seconds"].as_f64().unwrap() - x["seconds"].as_f64().unwrap();
        assert!(
            (p["delta_seconds"].as_f64().unwrap() - delta).abs() < 1e-9,
            "pull at {}",
            p["link"]
        );
    }

    // Each layer appears once, in order, on its side; the rows add up to the totals.
    let rows = cmp["layers"].as_array().expect("layer rows");
    for (side, report) in [("a", a), ("b", b)] {
        let digests: Vec<&Value> = rows
            .iter()
            .filter(|r| !r[side].is_null())
            .map(|r| &r[side]["diff_id"])
            .collect();
        let expected: Vec<&Value> = report["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| &l["diff_id"])
            .collect();
        assert_eq!(digests, expected, "the layers of {side} in order");
    }
    let sum = |field: &str| rows.iter().map(|r| i(&r[field])).sum::<i64>();
    assert_eq!(
        sum("compressed_delta"),
        i(&t["compressed_bytes"]["delta"]),
        "Σ layer blob deltas"
    );
    assert_eq!(
        sum("content_delta"),
        i(&t["shipped_bytes"]["delta"]),
        "Σ layer file-byte deltas"
    );
    for row in rows.iter().filter(|r| r["alignment"] == "shared") {
        assert_eq!(row["a"]["diff_id"], row["b"]["diff_id"]);
    }

    // Categories: every one of either report, each the difference of the two.
    let category = |report: &Value, id: &str, field: &str| {
        report["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map_or(0, |c| u(&c[field]))
    };
    let categories = cmp["categories"].as_array().expect("categories");
    assert_eq!(
        categories.len(),
        a["categories"]
            .as_array()
            .unwrap()
            .len()
            .max(b["categories"].as_array().unwrap().len())
    );
    for c in categories {
        let id = c["id"].as_str().unwrap();
        for field in ["final_bytes", "final_files", "redundant_bytes"] {
            assert_delta(
                &c[field],
                category(a, id, field),
                category(b, id, field),
                &format!("{id} {field}"),
            );
        }
    }
    let category_sum: i64 = categories.iter().map(|c| i(&c["final_bytes"]["delta"])).sum();
    assert_eq!(
        category_sum,
        i(&t["final_bytes"]["delta"]),
        "the categories hold the final bytes"
    );

    // Packages: each changed one as the reports have it, the unchanged ones counted.
    let (in_a, in_b) = (packages(a), packages(b));
    let p = &cmp["packages"];
    let list = p["list"].as_array().expect("package list");
    for d in list {
        let key = (
            d["manager"].as_str().unwrap().to_owned(),
            d["name"].as_str().unwrap().to_owned(),
        );
        let (x, y) = (in_a.get(&key), in_b.get(&key));
        assert_delta(
            &d["bytes"],
            x.map_or(0, |p| p.1),
            y.map_or(0, |p| p.1),
            &format!("{key:?}"),
        );
        let expected = match (x, y) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (Some(x), Some(y)) if x.0 != y.0 => "version_changed",
            _ => "size_changed",
        };
        assert_eq!(d["status"], expected, "{key:?}");
    }
    let unchanged = in_a.iter().filter(|(k, v)| in_b.get(*k) == Some(*v)).count();
    assert_eq!(p["unchanged"].as_u64(), Some(unchanged as u64));
    assert_eq!(
        list.len() + unchanged,
        in_a.keys()
            .chain(in_b.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    assert_delta(
        &p["unowned_bytes"],
        u(&a["packages"]["unowned_bytes"]),
        u(&b["packages"]["unowned_bytes"]),
        "unowned",
    );

    // Files: the lines add up to the final-filesystem delta.
    let f = &cmp["files"];
    let lines: i64 = f["lines"].as_array().unwrap().iter().map(|l| i(&l["delta"])).sum();
    assert_eq!(
        lines + i(&f["other"]["delta"]),
        i(&t["final_bytes"]["delta"]),
        "Σ file lines"
    );
    let kinds: i64 = ["added", "removed", "grown", "shrunk"]
        .iter()
        .map(|k| i(&f[*k]["delta"]))
        .sum();
    assert_eq!(kinds, i(&t["final_bytes"]["delta"]), "Σ file kinds");

    // Findings: fixed are A's ids B lacks; introduced the reverse.
    let (ids_a, ids_b) = (finding_ids(a), finding_ids(b));
    let listed = |key: &str| -> Vec<String> {
        let mut ids: Vec<String> = cmp["findings"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        listed("fixed"),
        ids_a
            .iter()
            .filter(|id| !ids_b.contains(id))
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        listed("introduced"),
        ids_b
            .iter()
            .filter(|id| !ids_a.contains(id))
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        listed("remaining"),
        ids_a
            .iter()
            .filter(|id| ids_b.contains(id))
            .cloned()
            .collect::<Vec<_>>()
    );
}

#[test]
fn naive_against_slim_deltas_are_the_reports_differences() {
    let Some(dir) = common::real_images_dir() else { return };
    let (naive, slim) = (dir.join("naive.tar"), dir.join("slim.tar"));
    let (naive, slim) = (naive.to_str().unwrap(), slim.to_str().unwrap());
    let cmp = compare_json(&[naive, slim]);
    let (a, b) = (report_json(naive), report_json(slim));
    assert_eq!(cmp["schema_version"], 1);
    assert_eq!(cmp["kind"], "compare");
    assert_eq!(cmp["a"], a["source"]);
    assert_eq!(cmp["b"], b["source"]);
    assert_deltas_are_differences(&cmp, &a, &b);

    // The multi-stage rewrite drops the toolchain: gcc-12 and every -dev package the
    // naive image installed are removed.
    let removed: Vec<&str> = cmp["packages"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "removed" && p["manager"] == "dpkg")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(removed.contains(&"gcc-12"), "{removed:?}");
    let dev_in_naive: Vec<String> = packages(&a)
        .into_keys()
        .filter(|(manager, name)| manager == "dpkg" && name.ends_with("-dev"))
        .map(|(_, name)| name)
        .collect();
    assert!(!dev_in_naive.is_empty(), "the naive image installs -dev packages");
    for dev in &dev_in_naive {
        assert!(removed.contains(&dev.as_str()), "{dev} removed: {removed:?}");
    }

    // Where the bytes went: the toolchain and the caches shrink by what the naive image
    // held of them, as its report says.
    let category = |id: &str| {
        cmp["categories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("category {id}"))
            .clone()
    };
    for id in ["toolchain", "headers", "package-cache", "apt-lists"] {
        let c = category(id);
        assert!(i(&c["final_bytes"]["delta"]) < 0, "{id} shrinks: {c}");
    }
    let deltas: Vec<i64> = cmp["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| i(&c["final_bytes"]["delta"]).abs())
        .collect();
    assert!(
        deltas.windows(2).all(|w| w[0] >= w[1]),
        "most changed first: {deltas:?}"
    );

    let t = &cmp["totals"];
    eprintln!(
        "naive -> slim: compressed {}, shipped {}, final {}, redundant {}; packages removed {}, added {}; categories: {}",
        t["compressed_bytes"]["delta"],
        t["shipped_bytes"]["delta"],
        t["final_bytes"]["delta"],
        t["redundant_bytes"]["delta"],
        cmp["packages"]["removed"],
        cmp["packages"]["added"],
        cmp["categories"]
            .as_array()
            .unwrap()
            .iter()
            .take(6)
            .map(|c| format!("{} {}", c["id"], c["final_bytes"]["delta"]))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The reference fixture cut to its first three layers (as the image it was built FROM)
/// in a temp dir, and the full fixture.
fn base_and_full(dir: &Path) -> (String, String) {
    let base = common::base_of(Path::new(&testdata("fixtures/layers-gzip.oci")), dir, 3);
    (
        format!("{}:base", base.display()),
        format!("{}:gzip", testdata("fixtures/layers-gzip.oci")),
    )
}

#[test]
fn small_fixtures_deltas_are_the_reports_differences() {
    let dir = tempfile::tempdir().unwrap();
    let (base, full) = base_and_full(dir.path());
    let sample = testdata("sample/sample-app.tar");
    for (a, b) in [(&base, &full), (&full, &sample), (&sample, &full)] {
        let cmp = compare_json(&[a, b]);
        assert_deltas_are_differences(&cmp, &report_json(a), &report_json(b));
    }
    let cmp = compare_json(&[&base, &full]);
    let alignments: Vec<&str> = cmp["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alignment"].as_str().unwrap())
        .collect();
    assert_eq!(alignments, ["shared", "shared", "shared", "only_b"]);
}

#[test]
fn each_side_has_its_platform() {
    let multi = testdata("fixtures/multi-platform.oci");
    let cmp = compare_json(&[
        "--platform-a",
        "linux/amd64",
        "--platform-b",
        "linux/arm64/v8",
        &multi,
        &multi,
    ]);
    assert_eq!(cmp["a"]["platform"], "linux/amd64");
    assert_eq!(cmp["b"]["platform"], "linux/arm64/v8");
    let both = compare_json(&["--platform", "linux/arm64/v8", &multi, &multi]);
    assert_eq!(both["a"]["platform"], "linux/arm64/v8");
    assert_eq!(both["b"]["platform"], "linux/arm64/v8");
    // As the platforms issue writes it: each --platform after its image.
    let interleaved = compare_json(&[&multi, "--platform", "linux/amd64", &multi, "--platform", "linux/arm64"]);
    assert_eq!(interleaved["a"]["platform"], "linux/amd64");
    assert_eq!(interleaved["b"]["platform"], "linux/arm64/v8");
    assert!(interleaved["totals"]["pull"].as_array().is_some_and(|p| p.len() == 3));
    assert!(
        both["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["alignment"] == "shared")
    );
}

fn blob_gets(registry: &TestRegistry, repo: &str, report: &Value) -> Vec<usize> {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let digest = l["digest"].as_str().unwrap();
            registry.requests(&format!("\"GET /v2/{repo}/blobs/{digest} ")).len()
        })
        .collect()
}

#[test]
fn shared_registry_layers_are_fetched_once() {
    let Some(registry) = TestRegistry::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (base, full) = base_and_full(dir.path());
    registry.push(&format!("oci:{base}"), "fixtures/app:base", false);
    registry.push(&format!("oci:{full}"), "fixtures/app:latest", false);
    let a = format!("{}/fixtures/app:base", registry.host());
    let b = format!("{}/fixtures/app:latest", registry.host());

    let cache = tempfile::tempdir().unwrap();
    let compare = |extra: &[&str]| -> Value {
        let out = imgprof_cached(
            cache.path(),
            &[&["compare", "--json", "--quiet"], extra, &[&a, &b]].concat(),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let uncached = compare(&["--no-cache"]);
    let b_report = report_json(&full);
    assert_eq!(
        blob_gets(&registry, "fixtures/app", &b_report),
        vec![1; 4],
        "without a cache, the three shared layers are fetched once for both images"
    );
    let cached = compare(&[]);
    assert_eq!(
        blob_gets(&registry, "fixtures/app", &b_report),
        vec![2; 4],
        "a cold cache: once each again"
    );
    assert_eq!(cached, uncached);
    compare(&[]);
    assert_eq!(
        blob_gets(&registry, "fixtures/app", &b_report),
        vec![2; 4],
        "a warm cache: no layer fetched"
    );

    let alignments: Vec<&str> = cached["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alignment"].as_str().unwrap())
        .collect();
    assert_eq!(alignments, ["shared", "shared", "shared", "only_b"]);

    // Mixed sources: the registry image against the layout it was pushed from.
    let mixed = compare_json(&[&full, &b]);
    assert_deltas_are_differences(&mixed, &b_report, &report_json(&b));
    assert!(
        mixed["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["alignment"] == "shared")
    );
}

fn stdout_of(args: &[&str]) -> String {
    let out = imgprof(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    // Paths of this checkout and of the temp dir are not part of the snapshot.
    text.replace(&common::root().join("testdata").display().to_string(), "testdata")
}

#[test]
fn snapshots_of_the_table_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let (base, full) = base_and_full(dir.path());
    let sample = testdata("sample/sample-app.tar");
    let redact = |text: String| text.replace(&dir.path().display().to_string(), "TMP");
    insta::assert_snapshot!("base_to_full_table", redact(stdout_of(&["compare", &base, &full])));
    insta::assert_snapshot!(
        "base_to_full_markdown",
        redact(stdout_of(&["compare", "--format", "markdown", &base, &full]))
    );
    insta::assert_snapshot!("sample_to_full_table", stdout_of(&["compare", &sample, &full]));
    insta::assert_snapshot!(
        "sample_to_full_markdown",
        stdout_of(&["compare", "--format", "markdown", &sample, &full])
    );
}

#[test]
fn fail_if_grows_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (base, full) = base_and_full(dir.path());
    let (a, b) = (report_json(&base), report_json(&full));
    let (before, after) = (u(&a["image"]["shipped_bytes"]), u(&b["image"]["shipped_bytes"]));
    assert!(after > before, "the full image ships more than its base");
    let grown = after - before;
    let exit = |from: &str, to: &str, limit: &str| {
        let out = imgprof(&["compare", "--fail-if-grows", limit, from, to]);
        out.status.code()
    };
    assert_eq!(
        exit(&base, &full, &grown.to_string()),
        Some(0),
        "grown exactly the limit"
    );
    assert_eq!(exit(&base, &full, &(grown - 1).to_string()), Some(1));
    let percent = grown as f64 * 100.0 / before as f64;
    assert_eq!(exit(&base, &full, &format!("{}%", percent.ceil())), Some(0));
    assert_eq!(exit(&base, &full, &format!("{}%", (percent - 1.0).floor())), Some(1));
    assert_eq!(exit(&full, &base, "0"), Some(0), "shrinking passes");

    let json = imgprof(&["compare", "--json", "--fail-if-grows", "0", &base, &full]);
    assert_eq!(json.status.code(), Some(1));
    let cmp: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(cmp["growth"]["passed"], false);
    assert_eq!(i(&cmp["growth"]["delta"]), grown as i64);
}

#[test]
fn bad_input_exits_2_naming_the_source() {
    let full = format!("{}:gzip", testdata("fixtures/layers-gzip.oci"));
    let missing = testdata("fixtures/no-such-image.tar");
    for (args, named) in [
        (vec!["compare", &full, &missing], format!("image B ({missing})")),
        (vec!["compare", &missing, &full], format!("image A ({missing})")),
    ] {
        let out = imgprof(&args);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("imgprof: error: ") && stderr.contains(&named),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let out = imgprof(&["compare", "--fail-if-grows", "lots", &full, &full]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lots"));
}

/// Every field name of the compare document, nested ones too.
fn field_names(value: &Value, names: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                names.insert(key.clone());
                field_names(inner, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| field_names(item, names)),
        _ => {}
    }
}

#[test]
fn the_schema_documents_every_field() {
    let doc = std::fs::read_to_string(common::root().join("docs/report-schema.md")).unwrap();
    let section = doc
        .split("## `imgprof compare --json`")
        .nth(1)
        .expect("docs/report-schema.md has a compare section");
    let full = format!("{}:gzip", testdata("fixtures/layers-gzip.oci"));
    let sample = testdata("sample/sample-app.tar");
    let mut names = std::collections::BTreeSet::new();
    for (a, b) in [(&full, &sample), (&sample, &full)] {
        let out = imgprof(&["compare", "--json", "--fail-if-grows", "1%", a, b]);
        let mut cmp: Value = serde_json::from_slice(&out.stdout).unwrap();
        // `a` and `b` are the reports' `source`, documented with the report.
        cmp["a"] = Value::Null;
        cmp["b"] = Value::Null;
        field_names(&cmp, &mut names);
    }
    assert!(names.contains("growth") && names.contains("fixed"));
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for name in &names {
        let documented = section.match_indices(name.as_str()).any(|(at, _)| {
            let before = section[..at].chars().next_back().is_none_or(|c| !is_word(c));
            let after = section[at + name.len()..].chars().next().is_none_or(|c| !is_word(c));
            before && after
        });
        assert!(
            documented,
            "docs/report-schema.md's compare section does not name `{name}`"
        );
    }
}

/// The `run: imgprof ...` line of docs/ci.md's compare steps.
fn ci_compare_line() -> String {
    let doc = std::fs::read_to_string(common::root().join("docs/ci.md")).unwrap();
    let block = doc
        .split("```yaml\n")
        .find(|block| block.starts_with("# compare steps"))
        .expect("docs/ci.md has the compare steps");
    block
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run: "))
        .find(|l| l.starts_with("imgprof compare"))
        .expect("a step runs imgprof compare")
        .to_owned()
}

#[test]
fn the_ci_compare_step_runs_as_written() {
    let Some(registry) = TestRegistry::start() else { return };
    let layouts = tempfile::tempdir().unwrap();
    let (base, full) = base_and_full(layouts.path());
    registry.push(&format!("oci:{base}"), "group/app:main", false);
    registry.push(&format!("oci:{full}"), "group/app:pr-7", false);
    let line = ci_compare_line();
    let bin = Path::new(env!("CARGO_BIN_EXE_imgprof")).parent().unwrap().to_owned();
    let run = |image: &str| {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("sh")
            .args(["-e", "-c", &line])
            .current_dir(dir.path())
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
            )
            .env("IMGPROF_CACHE_DIR", dir.path().join("cache"))
            .env("BASELINE", format!("{}/group/app:main", registry.host()))
            .env("IMAGE", format!("{}/group/app:{image}", registry.host()))
            .output()
            .unwrap();
        let comment = std::fs::read_to_string(dir.path().join("compare.md")).unwrap();
        (
            out.status.code(),
            comment,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The fixture's last layer adds far more than 5% to its base.
    let (code, comment, stderr) = run("pr-7");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        comment.contains("❌ `--fail-if-grows 5.0%`") && comment.contains("| shipped (uncompressed) |"),
        "{comment}"
    );
    let (code, comment, stderr) = run("main");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(comment.contains("✅ `--fail-if-grows 5.0%`"), "{comment}");
}

#[test]
fn the_side_by_side_view_needs_a_terminal() {
    // Off a terminal the table is printed; --tui there says what to do instead.
    let full = format!("{}:gzip", testdata("fixtures/layers-gzip.oci"));
    let sample = testdata("sample/sample-app.tar");
    let table = imgprof(&["compare", &sample, &full]);
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("compressed"));
    let out = imgprof(&["compare", "--tui", &sample, &full]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--tui needs a terminal"), "{stderr}");
}
