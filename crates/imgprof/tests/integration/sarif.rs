//! SARIF output: valid against the SARIF 2.1.0 JSON schema shipped in testdata (checked
//! with Python's `jsonschema`), and with `--dockerfile` pointing at the instruction that
//! made each finding's layer.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{has_python_module, imgprof, real_images_dir, root, testdata};
use serde_json::Value;

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
    if !has_python_module("jsonschema") {
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
        if has_python_module("jsonschema") {
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

/// GitHub workflow commands and GitLab Code Quality carry SARIF's results: the same codes,
/// levels and Dockerfile lines, in each platform's encoding (GitLab's required fields,
/// its severities, one fingerprint per issue).
#[test]
fn github_and_gitlab_carry_the_sarif_results() {
    let Some(images) = real_images_dir() else { return };
    let dockerfile = images.join("naive.Dockerfile").display().to_string();
    let layout = format!("{}:naive", images.join("naive.oci").display());
    let args = |format: &'static str| {
        [
            "check",
            "--format",
            format,
            "--dockerfile",
            dockerfile.as_str(),
            layout.as_str(),
        ]
    };
    let (_, doc) = sarif(&args("sarif"));
    let results: Vec<(String, String, u64)> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_owned(),
                r["level"].as_str().unwrap().to_owned(),
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap(),
            )
        })
        .collect();
    assert!(
        results.iter().any(|r| r.0.starts_with("rules/")),
        "a broken rule: {results:?}"
    );

    let out = imgprof(&args("github"));
    assert_eq!(out.status.code(), Some(1), "a rule broke");
    let text = String::from_utf8(out.stdout).unwrap();
    let annotations: Vec<(String, String, u64)> = text
        .lines()
        .map(|line| {
            let (command, rest) = line.strip_prefix("::").unwrap().split_once(' ').unwrap();
            let (properties, message) = rest.split_once("::").unwrap();
            assert!(!message.is_empty() && !message.contains('\n'));
            let property = |key: &str| {
                properties
                    .split(',')
                    .find_map(|p| p.strip_prefix(&format!("{key}=")))
                    .unwrap_or_else(|| panic!("{key} in {line}"))
                    .to_owned()
            };
            assert_eq!(property("file"), dockerfile.replace(':', "%3A").replace(',', "%2C"));
            let level = match command {
                "error" => "error",
                "warning" => "warning",
                "notice" => "note",
                other => panic!("{other} is no workflow command"),
            };
            let code = property("title").split(' ').next().unwrap().to_owned();
            (code, level.to_owned(), property("line").parse().unwrap())
        })
        .collect();
    assert_eq!(annotations, results);

    let out = imgprof(&args("gitlab"));
    assert_eq!(out.status.code(), Some(1));
    let issues: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let issues = issues.as_array().expect("an array of issues");
    assert_eq!(issues.len(), results.len());
    let mut fingerprints = std::collections::HashSet::new();
    for (issue, (code, _, line)) in issues.iter().zip(&results) {
        assert_eq!(issue["check_name"], code.as_str());
        assert!(issue["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&issue["severity"].as_str().unwrap()));
        assert_eq!(issue["location"]["path"], dockerfile.as_str());
        assert_eq!(issue["location"]["lines"]["begin"].as_u64(), Some(*line));
        assert!(
            fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_owned()),
            "{issue}"
        );
    }
}

/// JUnit XML: valid against testdata/schemas/junit.xsd (Python's xmlschema), read back by
/// junitparser (the reader GitHub's test-report actions use): a case per CI rule, failing
/// exactly where `check` broke a rule, and a case per finding rule of the catalog, failing
/// where the report has an error or warning finding of it, at its Dockerfile line.
#[test]
fn junit_has_a_case_per_rule_failing_where_check_fails() {
    if !has_python_module("xmlschema") || !has_python_module("junitparser") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dockerfile = dir.path().join("Dockerfile");
    std::fs::write(&dockerfile, "FROM scratch\nCOPY app /app\n").unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "max_uncompressed_size = \"1KB\"\nmax_compressed_size = \"1GB\"\n",
    )
    .unwrap();
    let (rules, dockerfile) = (rules.display().to_string(), dockerfile.display().to_string());
    let image = testdata("sample/sample-app.tar");
    let check = |format: &str| {
        imgprof(&[
            "check",
            "--config",
            &rules,
            "--format",
            format,
            "--dockerfile",
            &dockerfile,
            &image,
        ])
    };
    let out = check("junit");
    assert_eq!(out.status.code(), Some(1), "a rule broke");
    let junit = dir.path().join("junit.xml");
    std::fs::write(&junit, &out.stdout).unwrap();
    let report: Value = serde_json::from_slice(&check("json").stdout).expect("JSON");

    let script = "import json, sys, xmlschema, junitparser\n\
                  xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])\n\
                  cases = []\n\
                  for suite in junitparser.JUnitXml.fromfile(sys.argv[2]):\n\
                  \x20   for case in suite:\n\
                  \x20       failed = [r.type for r in case.result if isinstance(r, junitparser.Failure)]\n\
                  \x20       cases.append([suite.name, case.name, failed[0] if failed else None, case._elem.get('line')])\n\
                  print(json.dumps(cases))\n";
    let read = Command::new("python3")
        .args(["-c", script])
        .arg(root().join("testdata/schemas/junit.xsd"))
        .arg(&junit)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "not valid JUnit XML: {}",
        String::from_utf8_lossy(&read.stderr)
    );
    let cases: Vec<(String, String, Option<String>, Option<String>)> = serde_json::from_slice(&read.stdout).unwrap();

    let rules: Vec<(String, bool)> = report["rules"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rule"].as_str().unwrap().to_owned(), r["passed"].as_bool().unwrap()))
        .collect();
    let rule_cases: Vec<(String, bool)> = cases
        .iter()
        .filter(|c| c.0 == "rules")
        .map(|c| (c.1.clone(), c.2.is_none()))
        .collect();
    assert_eq!(rule_cases, rules);
    assert!(rules.iter().any(|r| !r.1) && rules.iter().any(|r| r.1), "{rules:?}");

    let finding_cases: Vec<_> = cases.iter().filter(|c| c.0 == "findings").collect();
    assert_eq!(finding_cases.len(), 21, "a case per finding rule of the catalog");
    let findings = report["findings"].as_array().unwrap();
    for case in finding_cases {
        let code = case.1.split(' ').next().unwrap();
        let severities: Vec<&str> = findings
            .iter()
            .filter(|f| f["id"] == code)
            .map(|f| f["severity"].as_str().unwrap())
            .collect();
        let fails = severities.iter().any(|s| *s != "info");
        assert_eq!(case.2.is_some(), fails, "{case:?} against {severities:?}");
        if let Some(kind) = &case.2 {
            assert!(severities.contains(&kind.as_str()), "{case:?}");
            assert!(
                case.3.as_deref().is_some_and(|l| l.parse::<u64>().unwrap() >= 1),
                "{case:?}"
            );
        }
    }
}
