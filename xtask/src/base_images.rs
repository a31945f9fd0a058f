//! The base images of the builder world (`xtask/base-images/build.sh`: debian, python and
//! node, made locally from Debian packages because no public registry is reachable),
//! cached by recipe hash like the realistic images, and loaded into the world's dockerd and
//! containers-storage under the names Dockerfiles use (`python:3.11`, ...).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::builders::{World, checked_output};

/// Each base: its archive in the recipe's output and the name Dockerfiles use.
pub const BASES: [(&str, &str); 6] = [
    ("debian-bookworm.tar", "debian:bookworm"),
    ("debian-bookworm-slim.tar", "debian:bookworm-slim"),
    ("python-3.11.tar", "python:3.11"),
    ("python-3.11-slim.tar", "python:3.11-slim"),
    ("node-18.tar", "node:18"),
    ("node-18-slim.tar", "node:18-slim"),
];

/// Builds the base images (or finds them in the cache); returns their directory.
pub fn build() -> Result<PathBuf> {
    let outputs: Vec<&str> = BASES.iter().map(|(file, _)| *file).collect();
    crate::real_images::build_recipe(
        "base-images",
        &outputs,
        "the base images debian, python, node (several minutes)",
    )
}

/// The image id (`sha256:` of the config) a docker-archive holds.
pub fn archive_image_id(archive: &Path) -> Result<String> {
    let file = std::fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut tar = tar::Archive::new(file);
    for entry in tar.entries()? {
        let mut entry = entry?;
        if entry.path()?.to_string_lossy() == "manifest.json" {
            let manifest: serde_json::Value = serde_json::from_reader(&mut entry)?;
            let config = manifest[0]["Config"].as_str().context("manifest.json without Config")?;
            let hex = config.trim_start_matches("blobs/sha256/").trim_end_matches(".json");
            return Ok(format!("sha256:{hex}"));
        }
    }
    bail!("{} has no manifest.json", archive.display())
}

/// Builds the bases if needed and makes sure dockerd and containers-storage hold each of
/// them, by its image id, under its name. Returns the recipe's directory.
pub fn load(world: &World) -> Result<PathBuf> {
    let dir = build()?;
    for (file, name) in BASES {
        let archive = dir.join(file);
        let id = archive_image_id(&archive)?;
        let in_docker = world
            .docker(true)
            .args(["image", "inspect", "--format", "{{.Id}}", name])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        if in_docker.as_deref() != Some(id.as_str()) {
            eprintln!("builders: docker load {name}");
            checked_output(world.docker(true).arg("load").arg("-i").arg(&archive))?;
        }
        let in_storage = world
            .podman()
            .args(["image", "inspect", "--format", "{{.Id}}", name])
            .output()
            .ok()
            .map(|o| format!("sha256:{}", String::from_utf8_lossy(&o.stdout).trim()));
        if in_storage.as_deref() != Some(id.as_str()) {
            eprintln!("builders: podman load {name}");
            checked_output(world.podman().arg("load").arg("-i").arg(&archive))?;
        }
    }
    Ok(dir)
}

/// The name imgprof's own Dockerfile builds `FROM`.
pub const RUST_IMAGE: &str = "rust:1-bookworm";

/// Builds `rust:1-bookworm` in the world's dockerd (xtask/rust-stand-in.Dockerfile):
/// python:3.11 with this machine's Rust toolchain, without its documentation. Needs the
/// bases loaded; a second build is BuildKit's cache.
pub fn rust_stand_in(world: &World) -> Result<()> {
    let sysroot = checked_output(Command::new("rustc").args(["--print", "sysroot"]))?;
    let sysroot = PathBuf::from(sysroot.trim());
    let context = world.scratch().join("rust-stand-in");
    if context.exists() {
        crate::builders::remove_tree_without_mounts(&context)?;
    }
    let toolchain = context.join("toolchain");
    std::fs::create_dir_all(&toolchain)?;
    // share/ is the documentation (800 MB); the compiler needs bin, lib, libexec, etc.
    for part in ["bin", "lib", "libexec", "etc"] {
        let from = sysroot.join(part);
        if !from.exists() {
            continue;
        }
        // Hard links where the scratch directory is on the same file system.
        let linked = Command::new("cp")
            .arg("-al")
            .arg(&from)
            .arg(&toolchain)
            .status()?
            .success();
        if !linked {
            crate::run(Command::new("cp").arg("-a").arg(&from).arg(&toolchain))?;
        }
    }
    let dockerfile = crate::project_root().join("xtask/rust-stand-in.Dockerfile");
    eprintln!("builders: building {RUST_IMAGE} from {}", sysroot.display());
    checked_output(
        world
            .docker(true)
            .args(["build", "--network", "host", "-t", RUST_IMAGE, "-f"])
            .arg(&dockerfile)
            .arg(&context),
    )
    .with_context(|| format!("building the stand-in {RUST_IMAGE}"))?;
    Ok(())
}
