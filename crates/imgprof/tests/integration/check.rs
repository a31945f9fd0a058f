//! `imgprof check`: exit codes, rule files, and dive's `.dive-ci` read with dive's meaning
//! (pass/fail compared with dive 0.13.1 itself on the same archives).

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{has_tool, real_images_dir, testdata};

fn check_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgprof"))
        .arg("check")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // Never the user's cache (check reads local files here, which are not cached).
        .env("IMGPROF_CACHE_DIR", dir.join(".imgprof-cache"))
        .output()
        .expect("imgprof runs")
}

fn empty_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn exit_codes_pass_fail_error() {
    let dir = empty_dir();
    let pass = check_in(dir.path(), &[&testdata("fixtures/chown.docker.tar")]);
    assert_eq!(pass.status.code(), Some(0), "{}", String::from_utf8_lossy(&pass.stdout));
    assert!(String::from_utf8_lossy(&pass.stdout).contains("Result: PASS"));

    // The sample ships a .env file: an error-severity finding breaks the default rules.
    let fail = check_in(dir.path(), &[&testdata("sample/sample-app.tar")]);
    assert_eq!(fail.status.code(), Some(1));
    let text = String::from_utf8_lossy(&fail.stdout);
    assert!(
        text.contains("FAIL  fail_on_severity") && text.contains("IMG008"),
        "{text}"
    );

    let broken = check_in(dir.path(), &[&testdata("bad/not-an-image.txt")]);
    assert_eq!(broken.status.code(), Some(2));

    std::fs::write(dir.path().join("bad.toml"), "forbid_categories = [\"compilers\"]").unwrap();
    let bad_config = check_in(
        dir.path(),
        &["--config", "bad.toml", &testdata("sample/sample-app.tar")],
    );
    assert_eq!(bad_config.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_config.stderr).contains("unknown category \"compilers\""));
}

#[test]
fn json_carries_every_rule_result() {
    let dir = empty_dir();
    let out = check_in(dir.path(), &["--json", &testdata("sample/sample-app.tar")]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::common::schema::assert_schema("report.schema.json", &report);
    let rules = &report["rules"];
    assert_eq!(rules["source"], "defaults");
    assert_eq!(rules["passed"], false);
    assert_eq!(rules["results"].as_array().unwrap().len(), 4);
    assert!(report["findings"].is_array(), "the whole report comes with the rules");
}

#[test]
fn imgprof_toml_in_the_working_directory_is_used() {
    let dir = empty_dir();
    std::fs::write(
        dir.path().join(".imgprof.toml"),
        "max_compressed_size = \"1MB\"\nforbid_categories = [\"vcs\"]\nfail_on_severity = \"never\"\n[severity]\nIMG013 = \"info\"\n",
    )
    .unwrap();
    let out = check_in(dir.path(), &["--json", &testdata("sample/sample-app.tar")]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::common::schema::assert_schema("report.schema.json", &report);
    assert_eq!(report["rules"]["source"], ".imgprof.toml");
    let results = report["rules"]["results"].as_array().unwrap();
    let outcome = |rule: &str| {
        results.iter().find(|r| r["rule"] == rule).unwrap()["passed"]
            .as_bool()
            .unwrap()
    };
    assert!(!outcome("max_compressed_size"), "3.7 MB > 1 MB");
    assert!(!outcome("forbid_categories.vcs"), "the sample has .git");
    let user = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "IMG013")
        .unwrap();
    assert_eq!(user["severity"], "info", "severity override applied");
}

/// Each of these means the same to dive 0.13.1 and to imgprof. The fixtures' dive figures:
/// layers-classic efficiency 0.746, 3340 wasted bytes, user-wasted ratio 1.09; chown 0.500,
/// 16000, 1.0; the sample 1.0, 0, 0.
const DIVE_CONFIGS: [&str; 10] = [
    "",
    "rules:\n  lowestEfficiency: 0.99\n",
    "rules:\n  lowestEfficiency: disabled\n  highestWastedBytes: 1KB\n  highestUserWastedPercent: disabled\n",
    "rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: 0.001\n",
    // Flow style; numbers and `disabled` as strings.
    "rules: {lowestEfficiency: 0.7, highestUserWastedPercent: disabled}\n",
    "{rules: {lowestEfficiency: \"0.7\", highestWastedBytes: \"3KB\", highestUserWastedPercent: 'disabled'}}\n",
    "rules: {lowestEfficiency: 0.4, highestWastedBytes: 3340, highestUserWastedPercent: disabled}  # comment\n",
    // viper's keys are case-insensitive.
    "RULES:\n  LOWESTEFFICIENCY: 0.7\n  HighestUserWastedPercent: disabled\n",
    // dive ignores a misspelt key (imgprof warns) and applies its default, 0.9.
    "rules:\n  lowestEfficency: 0.5\n  highestUserWastedPercent: disabled\n",
    // Only the first document counts.
    "rules:\n  lowestEfficiency: 0.7\n  highestUserWastedPercent: disabled\n---\nrules:\n  lowestEfficiency: 0.99\n",
];

fn dive_exit(archive: &str, config: &Path) -> (Option<i32>, String) {
    let out = Command::new("dive")
        .args(["--ci", "--source", "docker-archive", "--ci-config"])
        .arg(config)
        .arg(archive)
        .env("CI", "true")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn dive_passes(archive: &str, config: &Path) -> bool {
    let (code, stdout) = dive_exit(archive, config);
    match code {
        Some(0) => true,
        Some(1) => false,
        other => panic!("dive exited {other:?}: {stdout}"),
    }
}

fn assert_dive_ci_agrees(archives: &[String]) {
    for (i, config) in DIVE_CONFIGS.iter().enumerate() {
        let dir = empty_dir();
        let path = dir.path().join(".dive-ci");
        std::fs::write(&path, config).unwrap();
        for archive in archives {
            let ours = check_in(dir.path(), &[archive]);
            let ours_pass = match ours.status.code() {
                Some(0) => true,
                Some(1) => false,
                other => panic!("imgprof exited {other:?}: {}", String::from_utf8_lossy(&ours.stderr)),
            };
            assert!(String::from_utf8_lossy(&ours.stdout).contains("Rules (.dive-ci)"));
            assert_eq!(
                ours_pass,
                dive_passes(archive, &path),
                "config #{i} {config:?} on {archive}"
            );
        }
    }
}

#[test]
fn dive_ci_files_give_dives_verdicts() {
    if !has_tool("dive") {
        return;
    }
    let archives: Vec<String> = [
        "fixtures/layers-classic.tar",
        "fixtures/chown.docker.tar",
        "sample/sample-app.tar",
    ]
    .into_iter()
    .map(testdata)
    .collect();
    assert_dive_ci_agrees(&archives);
}

/// The kebab-case keys (`lowest-efficiency`, ...): dive 0.13.1 ignores them in `.dive-ci`
/// (measured: its default applies), imgprof applies them and warns. Where the file's values
/// are dive's defaults the exit codes are equal; where they are not, the verdicts differ and
/// imgprof's warning says why. Values dive calls misconfigured (exit 1, `CI Misconfigured`) and
/// malformed files (exit 1) are errors for imgprof (exit 2) that name the file and line.
#[test]
fn dive_ci_kebab_case_and_misconfigured_files() {
    if !has_tool("dive") {
        return;
    }
    let classic = testdata("fixtures/layers-classic.tar");
    let sample = testdata("sample/sample-app.tar");
    let run = |config: &str, archive: &str| {
        let dir = empty_dir();
        let path = dir.path().join(".dive-ci");
        std::fs::write(&path, config).unwrap();
        let ours = check_in(dir.path(), &[archive]);
        (ours, dive_exit(archive, &path).0, dir)
    };

    // dive's defaults spelt in kebab-case: the same exit codes (1 and 0).
    let defaults =
        "rules:\n  lowest-efficiency: 0.9\n  highest-wasted-bytes: disabled\n  highest-user-wasted-percent: 0.1\n";
    for archive in [&classic, &sample] {
        let (ours, dive, _dir) = run(defaults, archive);
        assert_eq!(ours.status.code(), dive, "{defaults:?} on {archive}");
        let stdout = String::from_utf8_lossy(&ours.stdout);
        assert_eq!(stdout.matches("warning: .dive-ci:").count(), 3, "{stdout}");
    }

    // Values that matter: imgprof applies them (0), dive 0.13.1 applies its defaults (1).
    let relaxed = "rules:\n  lowest-efficiency: 0.5\n  highest-user-wasted-percent: disabled\n";
    let (ours, dive, _dir) = run(relaxed, &classic);
    let stdout = String::from_utf8_lossy(&ours.stdout);
    assert_eq!(ours.status.code(), Some(0), "{stdout}");
    assert_eq!(dive, Some(1), "dive 0.13.1 ignores kebab-case keys in .dive-ci");
    assert!(
        stdout.contains("warning: .dive-ci:2: `lowest-efficiency` read as `lowestEfficiency`; dive 0.13.1"),
        "{stdout}"
    );

    for (config, line) in [
        ("rules:\n  highestUserWastedPercent: \"10%\"\n", 2),
        ("rules:\n  lowestEfficiency: 1.5\n", 2),
        // The parser sees the unclosed list at the end of the input.
        ("rules:\n  lowestEfficiency: 0.9\n  highestWastedBytes: [1, 2\n", 4),
        ("rules:\n  lowestEfficiency: 0.99\n  lowestEfficiency: 0.5\n", 3),
    ] {
        let (ours, dive, _dir) = run(config, &sample);
        assert_eq!(dive, Some(1), "dive: misconfigured or unreadable: {config:?}");
        let stderr = String::from_utf8_lossy(&ours.stderr);
        assert_eq!(ours.status.code(), Some(2), "{config:?}: {stderr}");
        assert!(stderr.contains(&format!(".dive-ci:{line}: ")), "{config:?}: {stderr}");
        assert!(ours.stdout.is_empty(), "{config:?}");
    }
}

#[test]
fn realistic_images_default_rules_and_dive_ci() {
    let Some(images) = real_images_dir() else { return };
    let dir = empty_dir();
    let naive = images.join("naive.tar").display().to_string();
    let slim = images.join("slim.tar").display().to_string();
    let failed = check_in(dir.path(), &[&naive]);
    assert_eq!(failed.status.code(), Some(1));
    let text = String::from_utf8_lossy(&failed.stdout);
    for rule in [
        "FAIL  fail_on_severity",
        "FAIL  max_category_bytes.package-cache",
        "FAIL  max_category_bytes.apt-lists",
    ] {
        assert!(text.contains(rule), "{rule} in {text}");
    }
    let passed = check_in(dir.path(), &[&slim]);
    assert_eq!(
        passed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&passed.stdout)
    );
    if has_tool("dive") {
        assert_dive_ci_agrees(&[naive, slim]);
    }
}

#[test]
fn markdown_and_quiet() {
    let dir = empty_dir();
    let md = check_in(
        dir.path(),
        &["--format", "markdown", &testdata("sample/sample-app.tar")],
    );
    assert_eq!(md.status.code(), Some(1));
    let text = String::from_utf8_lossy(&md.stdout);
    assert!(text.starts_with("### imgprof:"), "{text}");
    assert!(text.contains("| ❌ | `fail_on_severity` |"), "{text}");
    assert!(text.contains("<details><summary><b>IMG009</b>"), "{text}");
    assert!(text.contains("```dockerfile"), "{text}");

    let quiet_fail = check_in(dir.path(), &["--quiet", &testdata("sample/sample-app.tar")]);
    let text = String::from_utf8_lossy(&quiet_fail.stdout);
    assert!(
        text.contains("FAIL  fail_on_severity") && !text.contains("PASS"),
        "only broken rules: {text}"
    );
    let quiet_pass = check_in(dir.path(), &["--quiet", &testdata("fixtures/chown.docker.tar")]);
    assert_eq!(quiet_pass.status.code(), Some(0));
    assert!(quiet_pass.stdout.is_empty());
}

#[test]
fn excluded_paths_are_counted_but_not_judged() {
    let dir = empty_dir();
    std::fs::write(
        dir.path().join(".imgprof.toml"),
        "exclude_paths = [\"/app/**\"]\nmax_redundant_bytes = 0\n",
    )
    .unwrap();
    let out = check_in(dir.path(), &["--json", &testdata("sample/sample-app.tar")]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", report["rules"]);
    let excluded = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "excluded")
        .unwrap();
    // Everything the COPY of /app brought: the deleted model and tests (redundant), the
    // .git, .env and app files (final).
    assert_eq!(excluded["redundant_bytes"], 602_000);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"] != "IMG008" && f["id"] != "IMG009")
    );
    // The totals stay truthful.
    assert_eq!(report["image"]["redundant_bytes"], 602_000);
}

#[test]
fn growth_against_a_baseline() {
    let dir = empty_dir();
    std::fs::write(
        dir.path().join("growth.toml"),
        "max_growth = \"1MB\"\nfail_on_severity = \"never\"\n",
    )
    .unwrap();
    let sample = testdata("sample/sample-app.tar");
    let small = testdata("fixtures/chown.docker.tar");
    let grown = check_in(dir.path(), &["--config", "growth.toml", "--baseline", &small, &sample]);
    assert_eq!(grown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&grown.stdout).contains("FAIL  max_growth  +3.62 MB (16.01 kB -> 3.64 MB)"),
        "{}",
        String::from_utf8_lossy(&grown.stdout)
    );
    let same = check_in(dir.path(), &["--config", "growth.toml", "--baseline", &sample, &sample]);
    assert_eq!(same.status.code(), Some(0));
    std::fs::write(
        dir.path().join("share.toml"),
        "max_growth = \"0%\"\nfail_on_severity = \"never\"\n",
    )
    .unwrap();
    let shrunk = check_in(dir.path(), &["--config", "share.toml", "--baseline", &sample, &small]);
    assert_eq!(shrunk.status.code(), Some(0), "shrinking is not growth");
    let missing = check_in(dir.path(), &["--config", "growth.toml", &sample]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("no --baseline image given"));
}
