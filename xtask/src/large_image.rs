//! `cargo xtask large-image`: builds the large image of real content (a Debian base,
//! python, and numpy, scipy, pandas, scikit-learn and torch with its CUDA wheels from
//! PyPI: several GB uncompressed) with `xtask/large-image/build.sh`, the same machinery as
//! the realistic images (`xtask/image-lib.sh`). Cached outside the checkout like them,
//! keyed by a hash of the recipe directory and the shared library.

use std::path::PathBuf;

use anyhow::Result;

use crate::real_images::build_recipe;

/// Builds (or finds in the cache) the large image; returns its directory, which holds
/// `large.oci/` (tag `large`), `large.tar` (docker-archive) and `large.Dockerfile`.
pub fn large_image() -> Result<PathBuf> {
    let out = build_recipe(
        "large-image",
        &["large.tar", "large.oci/index.json", "large.Dockerfile"],
        "the large image (PyPI downloads of about 4 GB, then 10-20 minutes)",
    )?;
    println!("{}", out.display());
    Ok(out)
}
