//! The layer cache against a real registry (Debian's docker-registry on loopback, images
//! pushed by skopeo): a warm run downloads no layer blob, a tag sharing a base downloads
//! only its own layers, `--no-cache` downloads again, `cache info|prune` see the entries.
//! Requests are counted in the registry's access log.

use crate::common;
use std::path::Path;

use crate::common::registry::TestRegistry;
use crate::common::{imgprof_cached, testdata};
use serde_json::Value;

fn report(cache: &Path, args: &[&str]) -> Value {
    let out = imgprof_cached(cache, &[&["report", "--json"], args].concat());
    assert!(
        out.status.success(),
        "report {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no warning: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report is JSON")
}

fn layer_digests(report: &Value) -> Vec<String> {
    report["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["digest"].as_str().expect("a digest").to_owned())
        .collect()
}

/// How many times each blob was downloaded so far.
fn blob_gets(registry: &TestRegistry, repo: &str, digests: &[String]) -> Vec<usize> {
    digests
        .iter()
        .map(|d| registry.requests(&format!("\"GET /v2/{repo}/blobs/{d} ")).len())
        .collect()
}

fn cache_command(cache: &Path, args: &[&str]) -> String {
    let out = imgprof_cached(cache, &[&["cache"], args].concat());
    assert!(
        out.status.success(),
        "cache {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start() -> Option<TestRegistry> {
    let registry = TestRegistry::start()?;
    common::has_tool("skopeo").then_some(registry)
}

#[test]
fn a_warm_cache_downloads_no_layer() {
    let Some(registry) = start() else { return };
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "fixtures/layers:gzip",
        false,
    );
    let image = format!("{}/fixtures/layers:gzip", registry.host());
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();

    let cold = report(dir, &[&image]);
    let layers = layer_digests(&cold);
    assert_eq!(layers.len(), 4);
    let gets = |expected: usize| {
        let counts = blob_gets(&registry, "fixtures/layers", &layers);
        assert_eq!(counts, vec![expected; layers.len()], "blob GETs per layer");
    };
    gets(1);

    let warm = report(dir, &[&image]);
    assert_eq!(warm, cold, "the cached report is the same report");
    gets(1);

    let info = cache_command(dir, &["info"]);
    assert!(info.contains(&format!("directory  {}\n", dir.display())), "{info}");
    assert!(info.contains("entries    4\n"), "{info}");
    assert!(info.contains("current"), "{info}");

    let uncached = imgprof_cached(dir, &["report", "--json", "--no-cache", &image]);
    assert!(uncached.status.success());
    assert_eq!(serde_json::from_slice::<Value>(&uncached.stdout).unwrap(), cold);
    gets(2);

    // A damaged entry is a miss: that layer is downloaded again and the entry rewritten.
    let entry = std::fs::read_dir(dir.join("layers"))
        .unwrap()
        .flat_map(|g| std::fs::read_dir(g.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&layers[0]["sha256:".len()..])
        })
        .expect("the entry of the first layer");
    let length = std::fs::metadata(&entry).unwrap().len();
    std::fs::write(&entry, b"not an entry").unwrap();
    assert_eq!(report(dir, &[&image]), cold);
    assert_eq!(blob_gets(&registry, "fixtures/layers", &layers), vec![3, 2, 2, 2]);
    assert_eq!(std::fs::metadata(&entry).unwrap().len(), length, "rewritten");

    let pruned = cache_command(dir, &["prune"]);
    assert!(pruned.starts_with("removed 4 entries"), "{pruned}");
    assert!(cache_command(dir, &["info"]).contains("entries    0\n"));
    assert_eq!(report(dir, &[&image]), cold);
    assert_eq!(blob_gets(&registry, "fixtures/layers", &layers), vec![4, 3, 3, 3]);

    // A cache that cannot be written slows a run down, it does not fail it: one warning
    // naming the path.
    let blocked = dir.join("a-file");
    std::fs::write(&blocked, b"").unwrap();
    let out = imgprof_cached(&blocked, &["report", "--json", &image]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), cold);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("imgprof: warning: layer cache: cannot create the cache directory")
            && stderr.contains(&blocked.display().to_string())
            && stderr.contains("(and 3 more)"),
        "{stderr}"
    );
}

#[test]
fn a_tag_sharing_a_base_downloads_only_its_own_layers() {
    let Some(registry) = start() else { return };
    let layout = tempfile::tempdir().unwrap();
    let base = common::base_of(Path::new(&testdata("fixtures/layers-gzip.oci")), layout.path(), 3);
    registry.push(&format!("oci:{}:base", base.display()), "fixtures/app:base", false);
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "fixtures/app:latest",
        false,
    );
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();

    let base_report = report(dir, &[&format!("{}/fixtures/app:base", registry.host())]);
    let app = format!("{}/fixtures/app:latest", registry.host());
    let app_report = report(dir, &[&app]);
    let layers = layer_digests(&app_report);
    assert_eq!(
        layer_digests(&base_report),
        layers[..3],
        "the base's layers are the app's"
    );
    assert_eq!(
        blob_gets(&registry, "fixtures/app", &layers),
        vec![1, 1, 1, 1],
        "the app's run read only its own layer"
    );
    let uncached = imgprof_cached(dir, &["report", "--json", "--no-cache", &app]);
    assert_eq!(serde_json::from_slice::<Value>(&uncached.stdout).unwrap(), app_report);

    // Another version's entries are stale: `prune --stale` removes only them.
    let stale = dir.join("layers").join("v1-0000000000000000");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join(format!("{0}-{0}", "ab".repeat(32))), b"old").unwrap();
    let info = cache_command(dir, &["info"]);
    assert!(info.contains("entries    5\n") && info.contains("stale"), "{info}");
    let pruned = cache_command(dir, &["prune", "--stale"]);
    assert!(
        pruned.starts_with("removed 1 entries") && pruned.ends_with("kept 4\n"),
        "{pruned}"
    );
    assert!(!stale.exists());
}
