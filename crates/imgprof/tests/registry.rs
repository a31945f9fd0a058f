//! The loopback registry harness (Debian's docker-registry, started and stopped by the
//! tests) with the fixtures pushed into it by skopeo. imgprof does not pull from
//! registries yet; until it does, a registry reference gets a clear error.

mod common;

use std::process::Command;

use common::registry::TestRegistry;
use common::{imgprof, testdata};

#[test]
fn fixtures_are_served_by_a_real_registry() {
    let Some(registry) = TestRegistry::start() else { return };
    if !common::has_tool("skopeo") {
        return;
    }
    registry.push(
        &format!("oci:{}:gzip", testdata("fixtures/layers-gzip.oci")),
        "fixtures/layers:gzip",
        false,
    );
    registry.push(
        &format!("oci:{}:multi", testdata("fixtures/multi-platform.oci")),
        "fixtures/multi:latest",
        true,
    );
    let inspect = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/fixtures/multi:latest", registry.host()))
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
    let index: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        index["manifests"].as_array().unwrap().len(),
        3,
        "both platforms and the attestation"
    );
    assert!(
        !registry.requests("/v2/fixtures/layers/blobs/uploads").is_empty(),
        "the access log records the push"
    );

    let reference = format!("{}/fixtures/layers:gzip", registry.host());
    let out = imgprof(&["report", &reference]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not supported yet"));
}
