//! The ways users install and run imgprof, each done as a user would, in e2e (where the
//! release build exists, so cargo reuses it through `CARGO_TARGET_DIR`):
//! `cargo install --path`, `cargo install --git`, the `cargo xtask dist` archive checked
//! against its SHA256SUMS, and the GitHub action (action.yml) run step by step as a
//! runner runs a composite action, with the files a runner gives a job; and imgprof's own
//! Dockerfile, built by BuildKit in the builder world, run as its non-root user, and
//! reported on by imgprof.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use saphyr::{LoadableYamlNode, Yaml};

use crate::base_images::archive_image_id;
use crate::builders::{World, checked_output};
use crate::{project_root, target_dir};

/// Runs every check; returns each one's label and time, for docs/e2e.md.
/// `world` is up, with the base images loaded.
pub fn check(world: &World, scratch: &Path) -> Result<Vec<(String, Duration)>> {
    let root = project_root();
    let work = scratch.join("install-paths");
    if work.exists() {
        fs::remove_dir_all(&work)?;
    }
    fs::create_dir_all(&work)?;
    let mut timings = Vec::new();
    let mut timed = |label: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let started = Instant::now();
        eprintln!("install paths: {label}");
        f().with_context(|| format!("install path: {label}"))?;
        timings.push((label.to_owned(), started.elapsed()));
        Ok(())
    };
    timed("cargo install --path crates/imgprof", &mut || {
        let prefix = work.join("from-path");
        cargo_install(&["--path", "crates/imgprof"], &prefix)?;
        runs(&prefix.join("bin/imgprof"))
    })?;
    timed("cargo install --git", &mut || {
        let prefix = work.join("from-git");
        let url = format!("file://{}", root.display());
        cargo_install(&["--git", &url, "imgprof"], &prefix)?;
        runs(&prefix.join("bin/imgprof"))
    })?;
    timed("Dockerfile: built by BuildKit, run as non-root", &mut || {
        own_image(world, &work, &work.join("from-path/bin/imgprof"))
    })?;
    timed("cargo xtask dist, checked by sha256sum -c", &mut || dist_archive(&work))?;
    timed("action.yml run as a composite action", &mut || github_action(&work))?;
    Ok(timings)
}

/// `cargo install --locked ARGS --root PREFIX`, reusing this checkout's build.
fn cargo_install(args: &[&str], prefix: &Path) -> Result<()> {
    crate::run(
        Command::new("cargo")
            .args(["install", "--locked", "--quiet"])
            .args(args)
            .arg("--root")
            .arg(prefix)
            .env("CARGO_TARGET_DIR", target_dir())
            .current_dir(project_root()),
    )
}

/// The installed binary runs and reports the sample image.
fn runs(binary: &Path) -> Result<()> {
    let sample = project_root().join("testdata/sample/sample-app.tar");
    let out = Command::new(binary).arg("report").arg(&sample).output()?;
    ensure!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("layer"),
        "{} report {}: {}",
        binary.display(),
        sample.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// imgprof's Dockerfile at the root: BuildKit builds it `FROM rust:1-bookworm` (the
/// world's stand-in); the image runs as uid 65532 and reports the sample image exactly as
/// `imgprof` on the host does; and imgprof finds nothing to save in it.
fn own_image(world: &World, work: &Path, host_imgprof: &Path) -> Result<()> {
    const TAG: &str = "localhost/imgprof-e2e/imgprof:dockerfile";
    let root = project_root();
    crate::base_images::rust_stand_in(world)?;
    let started = Instant::now();
    checked_output(
        world
            .docker(true)
            .args(["build", "--network", "host", "-t", TAG])
            .arg(&root),
    )
    .context("docker build of imgprof's Dockerfile")?;
    eprintln!(
        "install paths: imgprof's image built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let user = checked_output(
        world
            .docker(true)
            .args(["image", "inspect", "--format", "{{.Config.User}}", TAG]),
    )?;
    ensure!(
        user.trim() == "65532:65532",
        "the image runs as {:?}, not 65532:65532",
        user.trim()
    );

    // Mounted at the same path, so the report names the same source.
    let sample_dir = root.join("testdata/sample");
    let sample = sample_dir.join("sample-app.tar");
    let mount = format!("{0}:{0}:ro", sample_dir.display());
    // `docker run` of imgprof's image with `options`, and the arguments imgprof takes.
    let run_image = |options: &[&str], args: &[&str]| {
        checked_output(
            world
                .docker(true)
                .args(["run", "--rm", "--network", "none"])
                .args(options)
                .arg(TAG)
                .args(args),
        )
    };
    let sample_arg = sample.to_string_lossy();
    let in_container = run_image(&["-v", &mount], &["report", "--json", &sample_arg])
        .context("imgprof's image reporting the sample image")?;
    let on_host = checked_output(Command::new(host_imgprof).args(["report", "--json"]).arg(&sample))?;
    ensure!(
        in_container == on_host,
        "imgprof in its image reports the sample image otherwise than on the host:\n{in_container}"
    );

    // The engine's socket mounted, as the Dockerfile's header shows: the same figures.
    const SAMPLE_TAG: &str = "localhost/imgprof-e2e/sample:dockerfile";
    let id = archive_image_id(&sample)?;
    checked_output(world.docker(true).arg("load").arg("-i").arg(&sample))?;
    checked_output(world.docker(true).args(["tag", &id, SAMPLE_TAG]))?;
    let socket = world.docker_socket();
    let gid = fs::metadata(&socket).map(|m| std::os::unix::fs::MetadataExt::gid(&m))?;
    let socket_mount = format!("{}:/var/run/docker.sock", socket.display());
    let engine_ref = format!("docker-daemon:{SAMPLE_TAG}");
    let from_engine = run_image(
        &["--group-add", &gid.to_string(), "-v", &socket_mount],
        &["report", "--json", &engine_ref],
    )
    .context("imgprof's image reporting an image of the engine whose socket it was given")?;
    let figures = |json: &str| -> Result<serde_json::Value> {
        let report: serde_json::Value = serde_json::from_str(json)?;
        Ok(report["image"].clone())
    };
    ensure!(
        figures(&from_engine)? == figures(&on_host)?,
        "the engine's copy of the sample image has other figures:\n{from_engine}"
    );

    let archive = work.join("imgprof-image.tar");
    checked_output(world.docker(true).args(["save", "-o"]).arg(&archive).arg(TAG))?;
    let report = checked_output(
        Command::new(host_imgprof)
            .args(["report", "--json", "--dockerfile"])
            .arg(root.join("Dockerfile"))
            .arg(&archive),
    )?;
    let report: serde_json::Value = serde_json::from_str(&report)?;
    let findings = report["findings"].as_array().context("a report has findings")?;
    let objections: Vec<String> = findings
        .iter()
        .filter(|f| f["saves_bytes"].as_u64().unwrap_or(0) > 0 || f["id"] == "IMG013")
        .map(|f| format!("{} {}", f["id"], f["title"]))
        .collect();
    ensure!(
        objections.is_empty(),
        "imgprof finds in its own image: {}",
        objections.join("; ")
    );
    eprintln!(
        "install paths: imgprof's image ships {} bytes, {} compressed ({} findings, none with bytes to save)",
        report["image"]["shipped_bytes"],
        report["image"]["compressed_bytes"],
        findings.len()
    );
    Ok(())
}

/// The dist archive: its checksum verifies, and it unpacks into a prefix whose binary
/// runs, with completions and man pages where shells and `man` look.
fn dist_archive(work: &Path) -> Result<()> {
    let archive = crate::dist::dist()?;
    let dist = archive.parent().context("the archive has a directory")?;
    crate::run(Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(dist))?;
    let unpacked = work.join("dist");
    fs::create_dir_all(&unpacked)?;
    crate::run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&unpacked))?;
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".tar.gz"))
        .context("the archive is NAME.tar.gz")?;
    let prefix = unpacked.join(name);
    for path in [
        "share/bash-completion/completions/imgprof",
        "share/zsh/site-functions/_imgprof",
        "share/fish/vendor_completions.d/imgprof.fish",
        "share/man/man1/imgprof.1",
        "share/man/man1/imgprof-report.1",
    ] {
        let len = fs::metadata(prefix.join(path))
            .with_context(|| format!("{path} in {name}"))?
            .len();
        ensure!(len > 0, "{path} in {name} is empty");
    }
    let man = Command::new("man")
        .arg("-l")
        .arg(prefix.join("share/man/man1/imgprof.1"))
        .env("MANPAGER", "cat")
        .output();
    if let Ok(man) = man {
        ensure!(
            man.status.success(),
            "man -l imgprof.1: {}",
            String::from_utf8_lossy(&man.stderr)
        );
    }
    runs(&prefix.join("bin/imgprof"))
}

/// action.yml run as GitHub runs a composite action: each step's `run` in
/// `bash --noprofile --norc -eo pipefail`, with `${{ inputs.* }}` and
/// `${{ github.action_path }}` expanded, the step's `env`, and the runner's files
/// (GITHUB_PATH read between steps, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY). The job checks
/// the sample image against a rule it breaks: the step fails, the annotations point at
/// the Dockerfile, the summary holds the report, the JUnit file its failing case; with
/// `fail: false` the step passes and says `passed=false`.
fn github_action(work: &Path) -> Result<()> {
    let root = project_root();
    let text = fs::read_to_string(root.join("action.yml"))?;
    let docs = Yaml::load_from_str(&text).context("action.yml is not YAML")?;
    let action = docs.first().context("action.yml is empty")?;
    let job = work.join("github-job");
    fs::create_dir_all(&job)?;
    fs::write(job.join("Dockerfile"), "FROM scratch\nCOPY app /app\n")?;
    fs::write(job.join(".imgprof.toml"), "max_uncompressed_size = \"1KB\"\n")?;
    fs::copy(root.join("testdata/sample/sample-app.tar"), job.join("app.tar"))?;
    let tool_cache = work.join("tool-cache");

    let mut inputs = BTreeMap::from([
        ("image", "app.tar".to_owned()),
        ("dockerfile", "Dockerfile".to_owned()),
        ("junit", "imgprof-junit.xml".to_owned()),
    ]);
    let failed = run_action(action, &inputs, &job, &tool_cache)?;
    let (step, out) = failed.context("the step did not fail although a rule broke")?;
    ensure!(step == "Check the image", "failed in {step:?}: {}", text_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        stdout
            .lines()
            .any(|l| l.starts_with("::") && l.contains("file=Dockerfile,line=")),
        "no annotation on the Dockerfile: {stdout}"
    );
    let summary = fs::read_to_string(job.join("summary.md"))?;
    ensure!(
        summary.contains("| "),
        "no markdown report in the job summary: {summary}"
    );
    let junit = fs::read_to_string(job.join("imgprof-junit.xml"))?;
    ensure!(
        junit.contains("name=\"max_uncompressed_size\"") && junit.contains("<failure type=\"rule\""),
        "the JUnit file lacks the broken rule: {junit}"
    );
    ensure!(output_value(&job, "passed").as_deref() == Some("false"));

    inputs.insert("fail", "false".to_owned());
    ensure!(
        run_action(action, &inputs, &job, &tool_cache)?.is_none(),
        "with fail: false the step passes"
    );
    ensure!(output_value(&job, "passed").as_deref() == Some("false"));
    Ok(())
}

/// Runs the composite action's steps in `job`; the step that failed and its output, if one
/// did.
fn run_action(
    action: &Yaml,
    given: &BTreeMap<&str, String>,
    job: &Path,
    tool_cache: &Path,
) -> Result<Option<(String, Output)>> {
    let root = project_root();
    let declared = action
        .as_mapping_get("inputs")
        .and_then(Yaml::as_mapping)
        .context("no inputs")?;
    let mut inputs = BTreeMap::new();
    for (key, spec) in declared {
        let key = key.as_str().context("an input's name is a string")?;
        let default = spec.as_mapping_get("default").and_then(Yaml::as_str).unwrap_or("");
        let required = spec.as_mapping_get("required").and_then(Yaml::as_bool).unwrap_or(false);
        let value = given.get(key).cloned().unwrap_or_else(|| default.to_owned());
        ensure!(!required || !value.is_empty(), "input {key} is required");
        inputs.insert(key.to_owned(), value);
    }
    for key in given.keys() {
        ensure!(inputs.contains_key(*key), "action.yml declares no input {key}");
    }
    let expand = |text: &str| -> Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").context("an unclosed ${{")? + start;
            let expression = rest[start + 3..end].trim();
            let value = match expression.strip_prefix("inputs.") {
                Some(name) => inputs.get(name).cloned().with_context(|| format!("no input {name}"))?,
                None if expression == "github.action_path" => root.display().to_string(),
                None => bail!("the test runner does not know ${{{{ {expression} }}}}"),
            };
            out.push_str(&value);
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    };
    let runs = action.as_mapping_get("runs").context("no runs")?;
    ensure!(runs.as_mapping_get("using").and_then(Yaml::as_str) == Some("composite"));
    let steps = runs
        .as_mapping_get("steps")
        .and_then(Yaml::as_sequence)
        .context("no steps")?;
    for file in ["path", "output", "summary.md"] {
        fs::write(job.join(file), "")?;
    }
    let mut path = std::env::var("PATH").unwrap_or_default();
    for step in steps {
        let name = step
            .as_mapping_get("name")
            .and_then(Yaml::as_str)
            .unwrap_or("")
            .to_owned();
        let script = step
            .as_mapping_get("run")
            .and_then(Yaml::as_str)
            .context("a step without run")?;
        ensure!(step.as_mapping_get("shell").and_then(Yaml::as_str) == Some("bash"));
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
            .arg(expand(script)?)
            .current_dir(job)
            .env("PATH", &path)
            .env("GITHUB_PATH", job.join("path"))
            .env("GITHUB_OUTPUT", job.join("output"))
            .env("GITHUB_STEP_SUMMARY", job.join("summary.md"))
            .env("RUNNER_TOOL_CACHE", tool_cache)
            .env("RUNNER_TEMP", job)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("IMGPROF_CACHE_DIR", job.join("cache"));
        if let Some(env) = step.as_mapping_get("env").and_then(Yaml::as_mapping) {
            for (key, value) in env {
                let value = value.as_str().map(str::to_owned).unwrap_or_default();
                command.env(key.as_str().context("an env name")?, expand(&value)?);
            }
        }
        let out = command.output().with_context(|| format!("running step {name}"))?;
        if !out.status.success() {
            return Ok(Some((name, out)));
        }
        // What a step appends to GITHUB_PATH is on PATH for the steps after it.
        for dir in fs::read_to_string(job.join("path"))?.lines().rev() {
            path = format!("{dir}:{path}");
        }
        fs::write(job.join("path"), "")?;
    }
    Ok(None)
}

/// A `name=value` the steps wrote to GITHUB_OUTPUT (the last one).
fn output_value(job: &Path, name: &str) -> Option<String> {
    let text = fs::read_to_string(job.join("output")).ok()?;
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .map(str::to_owned)
}

fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
