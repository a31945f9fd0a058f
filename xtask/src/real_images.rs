//! `cargo xtask real-images`: builds the realistic naive and slim images from real Debian
//! packages and PyPI wheels with `xtask/real-images/build.sh` (mmdebstrap, chroot, umoci,
//! skopeo). That takes minutes, so the result is cached outside the checkout, keyed by a
//! hash of every file of the recipe and of the shell library the recipes share
//! (`xtask/image-lib.sh`), and `testdata/real` is pointed at it. `large_image.rs` builds its
//! recipe with the same helpers.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::{project_root, run};

/// Debian packages the recipes need on the host.
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
    let out = build_recipe(
        "real-images",
        &["naive.tar", "slim.tar"],
        "the realistic images (several minutes)",
    )?;
    let link = project_root().join("testdata/real");
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(&out, &link).with_context(|| format!("linking {}", link.display()))?;
    println!("{}", out.display());
    Ok(out)
}

/// The shell library every image recipe sources; part of each recipe's cache key.
const IMAGE_LIB: &str = "xtask/image-lib.sh";

/// Runs the recipe `xtask/RECIPE/build.sh OUT` unless OUT already has every file of
/// `outputs`; returns OUT. OUT is `RECIPE-KEY` under the cache root, KEY the start of
/// [`recipe_hash`] of the recipe directory and [`IMAGE_LIB`], so a change to one recipe
/// rebuilds only that recipe (and a change to the library rebuilds all of them).
pub(crate) fn build_recipe(recipe: &str, outputs: &[&str], what: &str) -> Result<PathBuf> {
    let dir = project_root().join("xtask").join(recipe);
    let out = recipe_output(recipe)?;
    if !outputs.iter().all(|file| out.join(file).exists()) {
        crate::ci::install_debian(&TOOLS)?;
        fs::create_dir_all(cache_root())?;
        eprintln!("xtask: building {what} into {}", out.display());
        run(Command::new("bash").arg(dir.join("build.sh")).arg(&out))?;
    }
    Ok(out)
}

/// The cache directory of `xtask/RECIPE` for its current inputs (built or not).
pub(crate) fn recipe_output(recipe: &str) -> Result<PathBuf> {
    let root = project_root();
    let dir = root.join("xtask").join(recipe);
    let key = recipe_hash(&root, &[dir.as_path(), &root.join(IMAGE_LIB)])?;
    Ok(cache_root().join(format!("{recipe}-{}", &key[..16])))
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

/// Hash of a recipe's inputs: every file under each of `inputs` (directories or files),
/// by its path relative to `root` and its contents.
fn recipe_hash(root: &Path, inputs: &[&Path]) -> Result<String> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            collect_files(input, &mut files)?;
        } else {
            files.push(input.to_path_buf());
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let rel = file.strip_prefix(root).unwrap_or(&file);
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
