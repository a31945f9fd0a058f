//! Pulling from a real registry: Debian's docker-registry, started and stopped by the
//! tests on loopback, with the fixtures pushed into it by skopeo.

mod common;

use std::process::Command;

use common::registry::TestRegistry;
use common::{imgprof, report_json, testdata};

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

    // The report of the pulled image equals the report of its OCI layout, apart from
    // where it came from.
    let strip = |mut r: serde_json::Value| {
        r.as_object_mut().unwrap().remove("source");
        r
    };
    let pulled = report_json(&format!("{}/fixtures/layers:gzip", registry.host()));
    assert_eq!(pulled["source"]["kind"], "registry");
    let layout = report_json(&format!("{}:gzip", testdata("fixtures/layers-gzip.oci")));
    assert_eq!(strip(pulled), strip(layout));
    assert!(
        !registry.requests("GET /v2/fixtures/layers/blobs/sha256:").is_empty(),
        "blobs were fetched"
    );

    // A multi-platform index: the host's platform by default, another on request.
    let multi = format!("{}/fixtures/multi:latest", registry.host());
    assert_eq!(report_json(&multi)["source"]["platform"], "linux/amd64");
    let arm = imgprof(&["report", "--json", "--platform", "linux/arm64", &multi]);
    let arm: serde_json::Value = serde_json::from_slice(&arm.stdout).unwrap();
    assert_eq!(arm["source"]["platform"], "linux/arm64/v8");

    let listed = imgprof(&["platforms", &multi]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("linux/amd64") && text.contains("linux/arm64/v8"),
        "{text}"
    );

    let missing = imgprof(&["report", &format!("{}/fixtures/nothing:here", registry.host())]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
