//! `cargo xtask floor LAYOUT`: the least work any tool verifying an image must do, to
//! measure imgprof against: every layer blob of an OCI layout read once, its sha256
//! computed, decompressed, and the sha256 of the tar stream computed, layers in parallel
//! (largest first, one per core), with no tar walk and no analysis.

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Reads the layout's first manifest's layers; prints the time taken.
pub fn floor(layout: &Path) -> Result<()> {
    let start = std::time::Instant::now();
    let blob = |digest: &str| layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .context("index.json names no manifest")?;
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(blob(manifest_digest))?)?;
    let mut layers: Vec<(String, String, u64)> = manifest["layers"]
        .as_array()
        .context("manifest has no layers")?
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().unwrap_or_default().to_owned(),
                l["mediaType"].as_str().unwrap_or_default().to_owned(),
                l["size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    layers.sort_by_key(|l| std::cmp::Reverse(l.2));
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(layers.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some((digest, media_type, _)) = layers.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(e) = verify(&blob(digest), digest, media_type) {
                        failures
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("{digest}: {e:#}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    println!(
        "floor: {} layers in {:.3} s",
        layers.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// sha256 of the blob, then of its decompressed stream, in one read.
fn verify(path: &Path, digest: &str, media_type: &str) -> Result<()> {
    struct Hashing<R> {
        inner: R,
        hash: Sha256,
    }
    impl<R: Read> Read for Hashing<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.hash.update(&buf[..n]);
            Ok(n)
        }
    }
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut blob = Hashing {
        inner: file,
        hash: Sha256::new(),
    };
    let mut tar = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    {
        let mut stream: Box<dyn Read + '_> = if media_type.ends_with("gzip") {
            Box::new(flate2::read::MultiGzDecoder::new(&mut blob))
        } else if media_type.ends_with("zstd") {
            Box::new(zstd::stream::read::Decoder::new(&mut blob)?)
        } else {
            Box::new(&mut blob)
        };
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            tar.update(&buf[..n]);
        }
    }
    let got = format!("sha256:{}", hex::encode(blob.hash.finalize()));
    if got != digest {
        bail!("digest mismatch: {got}");
    }
    let _ = tar.finalize();
    Ok(())
}
