//! A pull survives what real networks do: a fault-injecting proxy between imgprof and a
//! real Basic-auth registry answers 429 and 503, resets a layer download mid-stream,
//! stalls another, and redirects a third to a blob server on another host. The report
//! must come out whole and equal to the OCI layout's; a flipped byte must fail naming
//! the blob.

mod common;

use std::path::PathBuf;

use common::proxy::{Action, FaultProxy, Seen};
use common::registry::{self, RegistryAuth, TestRegistry};
use common::{report_json, testdata};
use serde_json::Value;

/// The digests of `fixtures/layers-gzip.oci`'s manifest, read from the layout.
struct Fixture {
    config: String,
    layers: Vec<String>,
}

impl Fixture {
    fn read() -> Fixture {
        let layout = layout_dir();
        let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let manifest = blob(index["manifests"][0]["digest"].as_str().unwrap());
        let manifest: Value = serde_json::from_slice(&manifest).unwrap();
        Fixture {
            config: manifest["config"]["digest"].as_str().unwrap().to_owned(),
            layers: manifest["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_owned())
                .collect(),
        }
    }
}

fn layout_dir() -> PathBuf {
    PathBuf::from(testdata("fixtures/layers-gzip.oci"))
}

fn blob(digest: &str) -> Vec<u8> {
    let hex = digest.trim_start_matches("sha256:");
    std::fs::read(layout_dir().join("blobs/sha256").join(hex)).unwrap()
}

fn blob_path(digest: &str) -> String {
    format!("/v2/private/layers/blobs/{digest}")
}

/// A registry with the fixture pushed as `private/layers:gzip`, behind Basic auth.
fn registry_with_fixture() -> Option<TestRegistry> {
    let registry = TestRegistry::start_with(RegistryAuth::Basic)?;
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "private/layers:gzip",
        false,
    );
    Some(registry)
}

/// `imgprof report --json` on `image`, with the test account stored for the proxy's
/// host (the only host imgprof is told about).
fn report_through(proxy: &FaultProxy, extra: &[&str]) -> std::process::Output {
    let config = registry::docker_config(&proxy.host(), false, registry::PASSWORD);
    let image = format!("{}/private/layers:gzip", proxy.host());
    registry::report_with_config(&image, config.path(), extra)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn without_source(mut report: Value) -> Value {
    report.as_object_mut().unwrap().remove("source");
    report
}

/// What differs between a registry pull and a `docker save` of the same image by
/// construction: where it came from, and each layer's compressed form.
fn without_packaging(mut report: Value) -> Value {
    report = without_source(report);
    for layer in report["layers"].as_array_mut().unwrap() {
        for key in ["digest", "media_type", "compression", "compressed_bytes"] {
            layer.as_object_mut().unwrap().remove(key);
        }
    }
    report["image"].as_object_mut().unwrap().remove("compressed_bytes");
    // Pull times follow the compressed size.
    report.as_object_mut().unwrap().remove("pull");
    report
}

#[test]
fn a_pull_survives_throttling_resets_stalls_and_redirects() {
    if !common::has_tool("skopeo") {
        return;
    }
    let Some(registry) = registry_with_fixture() else {
        return;
    };
    let fixture = Fixture::read();

    // A second host, as a registry's blob storage (S3, a CDN) would be: it serves
    // blobs from the layout and must never see the registry's credentials.
    let storage = FaultProxy::start(
        "127.0.0.2",
        None,
        Box::new(|seen: &Seen, _| match seen.path.rsplit_once("/blobs/") {
            Some((_, digest)) => Action::Respond {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: blob(digest),
            },
            None => Action::status(404, &[]),
        }),
    );
    let storage_host = storage.host();

    let manifest_path = "/v2/private/layers/manifests/gzip".to_owned();
    let config_path = blob_path(&fixture.config);
    let reset_path = blob_path(&fixture.layers[0]);
    let redirect_path = blob_path(&fixture.layers[1]);
    let redirected_digest = fixture.layers[1].clone();
    let stall_path = blob_path(&fixture.layers[2]);
    let proxy = FaultProxy::start(
        "127.0.0.1",
        Some(registry.host()),
        Box::new(move |seen: &Seen, earlier| {
            let path = seen.path.as_str();
            if path == manifest_path && earlier == 0 {
                Action::status(429, &[("Retry-After", "1")])
            } else if path == config_path && earlier == 0 {
                Action::status(503, &[("Retry-After", "1")])
            } else if path == reset_path && earlier == 0 {
                Action::ResetAfter(100)
            } else if path == stall_path && earlier == 0 {
                Action::StallAfter(50)
            } else if path == redirect_path {
                let location = format!("http://{storage_host}/storage/blobs/{redirected_digest}");
                Action::status(307, &[("Location", &location)])
            } else {
                Action::Forward
            }
        }),
    );

    let out = report_through(&proxy, &["--timeout", "2"]);
    assert!(out.status.success(), "the pull failed: {}", stderr(&out));
    let pulled: Value = serde_json::from_slice(&out.stdout).expect("report is JSON");
    assert_eq!(pulled["source"]["kind"], "registry");
    let pulled = without_source(pulled);
    let layout = without_source(report_json(&format!("{}:gzip", testdata("fixtures/layers-gzip.oci"))));
    assert_eq!(pulled, layout, "the pulled report equals the layout's");
    let archive = report_json(&testdata("fixtures/layers-classic.tar"));
    assert_eq!(
        without_packaging(pulled),
        without_packaging(archive),
        "and the docker save's, apart from how layers are packed"
    );

    let seen = proxy.seen();
    let requests_for = |path: &str| seen.iter().filter(|s| s.path == path).cloned().collect::<Vec<_>>();
    let manifest = requests_for("/v2/private/layers/manifests/gzip");
    assert!(manifest.len() >= 2, "the 429 was retried: {manifest:?}");
    assert!(
        requests_for(&blob_path(&fixture.config)).len() >= 2,
        "the 503 was retried"
    );
    let reset = requests_for(&blob_path(&fixture.layers[0]));
    assert_eq!(
        reset.last().and_then(|s| s.range.as_deref()),
        Some("bytes=100-"),
        "the reset download resumed where it broke: {reset:?}"
    );
    let stalled = requests_for(&blob_path(&fixture.layers[2]));
    assert_eq!(
        stalled.last().and_then(|s| s.range.as_deref()),
        Some("bytes=50-"),
        "the stalled download resumed after the timeout: {stalled:?}"
    );
    assert!(
        // The throttled first request and its retry, answered 401, go without.
        seen.iter()
            .filter(|s| s.path.starts_with("/v2/private/"))
            .skip(2)
            .all(|s| s.authorization),
        "the registry got credentials on every request after the challenge: {seen:?}"
    );

    let stored = storage.seen();
    assert!(
        stored.iter().any(|s| s.path.ends_with(&fixture.layers[1])),
        "the redirected layer came from the storage host: {stored:?}"
    );
    assert!(
        stored.iter().all(|s| !s.authorization),
        "credentials never go to another host: {stored:?}"
    );
}

#[test]
fn a_corrupted_blob_fails_naming_its_digest() {
    if !common::has_tool("skopeo") {
        return;
    }
    let Some(registry) = registry_with_fixture() else {
        return;
    };
    let fixture = Fixture::read();
    let corrupt_path = blob_path(&fixture.layers[0]);
    let proxy = FaultProxy::start(
        "127.0.0.1",
        Some(registry.host()),
        Box::new(move |seen: &Seen, _| {
            if seen.path == corrupt_path {
                Action::FlipByte(200)
            } else {
                Action::Forward
            }
        }),
    );
    let out = report_through(&proxy, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "no partial report");
    let message = stderr(&out);
    assert!(message.contains(&fixture.layers[0]), "names the blob: {message}");
    assert!(!message.contains("panicked"), "{message}");
}

/// Runs `imgprof report --json` under `script`, so stderr is a terminal while stdout goes
/// to a file; returns what the terminal showed and the report.
fn report_on_a_terminal(proxy: &FaultProxy, extra: &str) -> (String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let config = registry::docker_config(&proxy.host(), false, registry::PASSWORD);
    let (typescript, report) = (dir.path().join("typescript"), dir.path().join("report.json"));
    let command = format!(
        "{} report --json --timeout 2 {extra} {}/private/layers:gzip > {}",
        env!("CARGO_BIN_EXE_imgprof"),
        proxy.host(),
        report.display()
    );
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command])
        .arg(&typescript)
        .env("DOCKER_CONFIG", config.path())
        .env("REGISTRY_AUTH_FILE", dir.path().join("none.json"))
        .env("IMGPROF_CACHE_DIR", dir.path().join("cache"))
        .output()
        .expect("script runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
    let report = serde_json::from_slice(&std::fs::read(&report).unwrap()).expect("a whole report on stdout");
    (shown, report)
}

#[test]
fn progress_bars_on_a_terminal_only() {
    if !common::has_tool("skopeo") || !common::has_tool("script") {
        return;
    }
    let Some(registry) = registry_with_fixture() else {
        return;
    };
    let fixture = Fixture::read();
    // The largest layer stalls for the 2 s timeout in every run (the first request of
    // each run, then its resumption), so its bar is on screen for a while.
    let stalled = blob_path(&fixture.layers[0]);
    let proxy = FaultProxy::start(
        "127.0.0.1",
        Some(registry.host()),
        Box::new(move |seen: &Seen, earlier| {
            if seen.path == stalled && earlier % 2 == 0 {
                Action::StallAfter(100)
            } else {
                Action::Forward
            }
        }),
    );
    let short = &fixture.layers[0]["sha256:".len()..][..12];
    let (shown, report) = report_on_a_terminal(&proxy, "");
    assert!(shown.contains(short), "a bar names the stalled layer: {shown:?}");
    assert!(shown.contains("449 B"), "and its size: {shown:?}");
    assert_eq!(report["layers"].as_array().unwrap().len(), 4);

    let (shown, _) = report_on_a_terminal(&proxy, "--quiet");
    assert!(!shown.contains(short), "--quiet draws nothing: {shown:?}");

    // Not a terminal: stderr stays empty.
    let out = report_through(&proxy, &["--timeout", "2"]);
    assert!(out.status.success());
    assert_eq!(stderr(&out), "", "no progress when stderr is not a terminal");
}
