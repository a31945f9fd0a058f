//! The CI examples of docs/ci.md run as written: the GitLab job's scripts (credentials
//! file, check against a baseline, the reports) and the GitHub workflow's imgprof steps
//! run in a shell against a Basic-auth registry on loopback, with the CI variables
//! pointing there. Only the `cargo install` line is skipped (the binary under test is
//! put on PATH instead).

use crate::common;
use std::path::Path;
use std::process::Command;

use crate::common::registry::{self, RegistryAuth, TestRegistry};
use crate::common::testdata;

/// The YAML code blocks of docs/ci.md whose first line is `# NAME`.
fn yaml_block(name: &str) -> String {
    let doc = std::fs::read_to_string(common::root().join("docs/ci.md")).unwrap();
    doc.split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.starts_with(&format!("# {name}")))
        .unwrap_or_else(|| panic!("docs/ci.md has no yaml block starting with # {name}"))
        .to_owned()
}

/// The list items under `key:` (`    - command`), in order.
fn gitlab_list(block: &str, key: &str) -> Vec<String> {
    let mut lines = block.lines().skip_while(|l| l.trim() != format!("{key}:")).skip(1);
    let mut items = Vec::new();
    for line in lines.by_ref() {
        match line.trim_start().strip_prefix("- ") {
            Some(item) if line.starts_with("    ") => items.push(item.to_owned()),
            _ => break,
        }
    }
    assert!(!items.is_empty(), "no {key} items in {block}");
    items
}

/// The lines of every GitHub step's `run:` that call imgprof.
fn github_imgprof_lines(block: &str) -> Vec<String> {
    block
        .lines()
        .map(|l| l.trim().trim_start_matches("run: ").to_owned())
        .filter(|l| l.starts_with("imgprof "))
        .collect()
}

/// Runs `script` in `sh -e` inside `dir` with HOME there, imgprof first on PATH and the
/// given variables.
fn sh(dir: &Path, script: &str, vars: &[(&str, String)]) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_imgprof")).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new("sh");
    command
        .args(["-e", "-c", script])
        .current_dir(dir)
        .env("HOME", dir)
        .env("PATH", path)
        .env("IMGPROF_CACHE_DIR", dir.join("cache"))
        .env_remove("DOCKER_CONFIG")
        .env("REGISTRY_AUTH_FILE", dir.join("no-auth.json"));
    for (key, value) in vars {
        command.env(key, value);
    }
    command.output().expect("sh runs")
}

fn pushed_registry() -> Option<TestRegistry> {
    if !common::has_tool("skopeo") {
        return None;
    }
    let registry = TestRegistry::start_with(RegistryAuth::Basic)?;
    let layout = testdata("fixtures/two-tags.oci");
    registry.push(&format!("oci:{layout}:one"), "group/app:main", false);
    registry.push(&format!("oci:{layout}:two"), "group/app:abc123", false);
    Some(registry)
}

fn assert_ran(out: &std::process::Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 0 or 1 (a rule broke) are both a check that ran; 2 is an error.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{what}: {:?}: {stderr}",
        out.status
    );
    for secret in registry::secrets() {
        assert!(!stderr.contains(&secret), "{what}: a credential leaked");
    }
}

#[test]
fn the_gitlab_job_runs_as_written() {
    let Some(registry) = pushed_registry() else { return };
    let block = yaml_block(".gitlab-ci.yml");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY . /\n").unwrap();
    let vars = [
        ("CI_REGISTRY", registry.host()),
        ("CI_REGISTRY_IMAGE", format!("{}/group/app", registry.host())),
        ("CI_COMMIT_SHA", "abc123".to_owned()),
        ("CI_DEFAULT_BRANCH", "main".to_owned()),
        ("CI_REGISTRY_USER", registry::USERNAME.to_owned()),
        ("CI_REGISTRY_PASSWORD", registry::PASSWORD.to_owned()),
    ];
    // The job's `variables:` as GitLab expands them.
    let image = format!("{}/group/app:abc123", registry.host());
    let baseline = format!("{}/group/app:main", registry.host());
    let mut vars = vars.to_vec();
    vars.push(("IMAGE", image));
    vars.push(("BASELINE", baseline));

    let before: Vec<String> = gitlab_list(&block, "before_script")
        .into_iter()
        .filter(|line| !line.starts_with("cargo install"))
        .collect();
    let out = sh(dir.path(), &before.join("\n"), &vars);
    assert!(
        out.status.success(),
        "before_script: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join(".docker/config.json").exists());

    for line in gitlab_list(&block, "script") {
        assert_ran(&sh(dir.path(), &line, &vars), &line);
    }
    for line in gitlab_list(&block, "after_script") {
        let out = sh(dir.path(), &line, &vars);
        assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("imgprof.json")).unwrap()).expect("JSON report");
    assert_eq!(report["source"]["kind"], "registry");
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("gl-imgprof.sarif")).unwrap()).expect("SARIF");
    assert_eq!(sarif["version"], "2.1.0");
    let quality: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("gl-code-quality.json")).unwrap()).expect("JSON");
    let issues = quality.as_array().expect("GitLab's Code Quality report is an array");
    assert!(
        issues
            .iter()
            .all(|i| i["check_name"].is_string() && i["location"]["path"] == "Dockerfile"),
        "{quality}"
    );
    assert_eq!(issues.len(), sarif["runs"][0]["results"].as_array().unwrap().len());
    let markdown = std::fs::read_to_string(dir.path().join("imgprof.md")).unwrap();
    assert!(markdown.contains('|'), "a markdown table: {markdown}");
}

#[test]
fn the_github_workflows_imgprof_steps_run_as_written() {
    let Some(registry) = pushed_registry() else { return };
    let block = yaml_block(".github/workflows/image-size.yml");
    assert!(block.contains("upload-sarif"), "the workflow uploads SARIF");
    assert!(block.contains("gh pr comment"), "and comments on the pull request");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY . /\n").unwrap();

    // The credentials step, with ghcr.io replaced by the test registry.
    let credentials: Vec<String> = block
        .lines()
        .skip_while(|l| !l.contains("mkdir -p ~/.docker"))
        .take(3)
        .map(|l| l.trim().replace("ghcr.io", &registry.host()))
        .collect();
    let vars = [
        ("GITHUB_ACTOR", registry::USERNAME.to_owned()),
        ("TOKEN", registry::PASSWORD.to_owned()),
        ("IMAGE", format!("{}/group/app:abc123", registry.host())),
        ("BASELINE", format!("{}/group/app:main", registry.host())),
    ];
    let out = sh(dir.path(), &credentials.join("\n"), &vars);
    assert!(
        out.status.success(),
        "credentials: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let lines = github_imgprof_lines(&block);
    assert!(lines.len() >= 4, "{lines:?}");
    for line in &lines {
        let line = line.split("   #").next().unwrap_or(line);
        assert_ran(&sh(dir.path(), line, &vars), line);
    }
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("imgprof.sarif")).unwrap()).expect("SARIF");
    assert_eq!(sarif["version"], "2.1.0");
}
