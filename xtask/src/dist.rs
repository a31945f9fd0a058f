//! `cargo xtask dist`: the release archive of this machine's target, as a user installs
//! it: `imgprof-VERSION-TARGET.tar.gz` holding `bin/imgprof` (the release build),
//! completions for bash, zsh and fish and the man pages where those shells and `man` look
//! under a prefix (`share/...`), README and licence notes; and `SHA256SUMS` beside it
//! (`sha256sum -c SHA256SUMS` checks it). Completions and man pages come from the built
//! binary, so they describe exactly the CLI in the archive.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::builders::checked_output;
use crate::{project_root, run};

/// Builds the archive into `target/dist` (or `$CARGO_TARGET_DIR/dist`); returns its path.
pub fn dist() -> Result<PathBuf> {
    let root = project_root();
    let binary = crate::release_binary()?;
    let version = checked_output(Command::new(&binary).arg("--version"))?;
    let version = version
        .split_whitespace()
        .nth(1)
        .context("imgprof --version printed no version")?;
    let triple = host_triple()?;
    let name = format!("imgprof-{version}-{triple}");

    let out = crate::target_dir().join("dist");
    let staging = out.join(&name);
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    let bin = staging.join("bin");
    fs::create_dir_all(&bin)?;
    fs::copy(&binary, bin.join("imgprof")).with_context(|| format!("copying {}", binary.display()))?;
    for (shell, path) in [
        ("bash", "share/bash-completion/completions/imgprof"),
        ("zsh", "share/zsh/site-functions/_imgprof"),
        ("fish", "share/fish/vendor_completions.d/imgprof.fish"),
    ] {
        let script = checked_output(Command::new(&binary).args(["completions", shell]))?;
        write(&staging.join(path), script.as_bytes())?;
    }
    let man = staging.join("share/man/man1");
    fs::create_dir_all(&man)?;
    run(Command::new(&binary).arg("man").arg("--dir").arg(&man))?;
    fs::copy(root.join("README.md"), staging.join("README.md"))?;
    write(
        &staging.join("LICENSE"),
        b"imgprof is licensed under MIT OR Apache-2.0, at your option.\n",
    )?;

    let archive = out.join(format!("{name}.tar.gz"));
    let file = fs::File::create(&archive).with_context(|| format!("creating {}", archive.display()))?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::best()));
    // Owner root, no build machine's names or times: the same tree gives the same entries.
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    tar.append_dir_all(&name, &staging)?;
    tar.into_inner()?.finish()?.sync_all()?;
    fs::remove_dir_all(&staging)?;

    let digest = hex::encode(Sha256::digest(fs::read(&archive)?));
    let sums = out.join("SHA256SUMS");
    write(&sums, format!("{digest}  {name}.tar.gz\n").as_bytes())?;
    println!("{}\n{}", archive.display(), sums.display());
    Ok(archive)
}

/// This machine's target triple, as rustc names it.
fn host_triple() -> Result<String> {
    let info = checked_output(Command::new("rustc").arg("-vV"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}
