//! `cargo xtask real-images`: builds the realistic naive and slim images from real Debian
//! packages and PyPI wheels with `xtask/real-images/build.sh` (mmdebstrap, chroot, umoci,
//! skopeo). That takes minutes, so the result is cached outside the checkout, keyed by a
//! hash of every file of the recipe, and `testdata/real` is pointed at it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::{project_root, run};

/// Debian packages the recipe needs on the host.
const TOOLS: [(&str, &str); 6] = [
    ("mmdebstrap", "mmdebstrap"),
    ("umoci", "umoci"),
    ("skopeo", "skopeo"),
    ("jq", "jq"),
    ("git", "git"),
    ("openssl", "openssl"),
];

/// Builds (or finds in the cache) the realistic images; returns their directory.
pub fn real_images() -> Result<PathBuf> {
    let root = project_root();
    let recipe = root.join("xtask/real-images");
    let key = recipe_hash(&recipe)?;
    let out = cache_root().join(format!("real-images-{}", &key[..16]));
    if !out.join("naive.tar").exists() || !out.join("slim.tar").exists() {
        crate::ci::install_debian(&TOOLS)?;
        fs::create_dir_all(cache_root())?;
        eprintln!(
            "xtask: building the realistic images into {} (several minutes)",
            out.display()
        );
        run(Command::new("bash").arg(recipe.join("build.sh")).arg(&out))?;
    }
    let link = root.join("testdata/real");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(&out, &link).with_context(|| format!("linking {}", link.display()))?;
    println!("{}", out.display());
    Ok(out)
}

/// Where generated test images live: `$IMGPROF_TESTDATA_CACHE`, else
/// `$XDG_CACHE_HOME/imgprof-testdata`, else `~/.cache/imgprof-testdata`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMGPROF_TESTDATA_CACHE") {
        return dir.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/tmp"));
    base.join("imgprof-testdata")
}

fn recipe_hash(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let rel = file.strip_prefix(dir).unwrap_or(&file);
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(fs::read(&file).with_context(|| format!("reading {}", file.display()))?);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
