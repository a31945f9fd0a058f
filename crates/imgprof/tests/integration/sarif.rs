//! SARIF output: valid against the SARIF 2.1.0 JSON schema shipped in testdata (checked
//! with Python's `jsonschema`), and with `--dockerfile` pointing at the instruction that
//! made each finding's layer.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{imgprof, real_images_dir, root, testdata};
use serde_json::Value;

/// Whether Python's jsonschema is there; required under `IMGPROF_REQUIRE_TOOLS=1`.
fn has_jsonschema() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var("IMGPROF_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("python3 -m jsonschema is required (IMGPROF_REQUIRE_TOOLS=1)");
    }
    found
}

fn assert_valid_sarif(sarif: &[u8]) {
    let schema = root().join("testdata/schemas/sarif-2.1.0.json");
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.validate(json.load(sys.stdin), schema)\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(sarif).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not valid SARIF 2.1.0: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sarif(args: &[&str]) -> (Vec<u8>, Value) {
    let out = imgprof(args);
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    (out.stdout, value)
}

#[test]
fn sample_sarif_is_valid() {
    if !has_jsonschema() {
        return;
    }
    let (bytes, doc) = sarif(&["report", "--format", "sarif", &testdata("sample/sample-app.tar")]);
    assert_valid_sarif(&bytes);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let secret = results.iter().find(|r| r["ruleId"] == "IMG008").unwrap();
    assert_eq!(secret["level"], "error");
    // Without a Dockerfile, results name the image layer.
    let name = secret["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        .as_str()
        .unwrap();
    assert!(name.contains("layer 2: COPY . ."), "{name}");

    // Broken CI rules become results too.
    let (bytes, doc) = sarif(&["check", "--format", "sarif", &testdata("sample/sample-app.tar")]);
    assert_valid_sarif(&bytes);
    assert!(
        doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ruleId"] == "rules/fail_on_severity")
    );
}

#[test]
fn dockerfile_lines_point_at_the_instructions() {
    let Some(images) = real_images_dir() else { return };
    for (name, expected) in [
        (
            "naive",
            vec![
                ("IMG003", "RUN pip install --break-system-packages uv"),
                ("IMG009", "COPY . ."),
                ("IMG001", "RUN apt-get update && apt-get install -y python3"),
                ("IMG014", "FROM debian:bookworm"),
            ],
        ),
        ("slim", vec![("IMG001", "COPY --from=builder /opt/venv /opt/venv")]),
    ] {
        let dockerfile = images.join(format!("{name}.Dockerfile"));
        let layout = format!("{}:{name}", images.join(format!("{name}.oci")).display());
        let (bytes, doc) = sarif(&[
            "report",
            "--format",
            "sarif",
            "--dockerfile",
            &dockerfile.display().to_string(),
            &layout,
        ]);
        if has_jsonschema() {
            assert_valid_sarif(&bytes);
        }
        let lines: Vec<String> = std::fs::read_to_string(&dockerfile)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let results = doc["runs"][0]["results"].as_array().unwrap();
        for (id, starts_with) in expected {
            let result = results
                .iter()
                .find(|r| r["ruleId"] == id)
                .unwrap_or_else(|| panic!("{name}: {id}"));
            let location = &result["locations"][0]["physicalLocation"];
            assert_eq!(location["artifactLocation"]["uri"], dockerfile.display().to_string());
            let line = location["region"]["startLine"].as_u64().unwrap() as usize;
            assert!(
                lines[line - 1].starts_with(starts_with),
                "{name} {id}: line {line} is {:?}",
                lines[line - 1]
            );
        }
    }
}
