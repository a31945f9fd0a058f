//! `cargo xtask floor LAYOUT|ARCHIVE`: the least work any tool verifying an image must do,
//! to measure imgprof against, with no tar walk and no analysis, layers in parallel
//! (largest first, one per core):
//! - an OCI layout: every layer blob read once, its sha256 computed, decompressed, and the
//!   sha256 of the tar stream computed;
//! - a `docker save` archive: every layer member's sha256 computed, read in place.

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Verifies the layers of a layout directory or a docker-archive; prints the time taken.
pub fn floor(input: &Path) -> Result<()> {
    let start = std::time::Instant::now();
    let layers = if input.is_dir() {
        floor_layout(input)?
    } else {
        floor_archive(input)?
    };
    println!("floor: {layers} layers in {:.3} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// Hashes every layer member of a `docker save` archive (found through its manifest.json)
/// and checks it against the config's diff_ids.
fn floor_archive(archive: &Path) -> Result<usize> {
    // Member name -> (offset of its content, size).
    let mut members: HashMap<String, (u64, u64)> = HashMap::new();
    let mut documents: HashMap<String, Vec<u8>> = HashMap::new();
    let file = std::fs::File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    for entry in tar.entries_with_seek()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if name.ends_with(".json") {
            let mut content = Vec::new();
            entry.read_to_end(&mut content)?;
            documents.insert(name.clone(), content);
        }
        members.insert(name, (entry.raw_file_position(), entry.size()));
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(documents.get("manifest.json").context("no manifest.json")?)?;
    let config_name = manifest[0]["Config"]
        .as_str()
        .context("manifest.json names no config")?;
    let config: serde_json::Value =
        serde_json::from_slice(documents.get(config_name).context("the config is missing")?)?;
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .context("the config has no diff_ids")?;
    let names = manifest[0]["Layers"]
        .as_array()
        .context("manifest.json names no layers")?;
    let mut layers: Vec<(String, u64, u64)> = names
        .iter()
        .zip(diff_ids)
        .map(|(name, diff_id)| {
            let name = name.as_str().unwrap_or_default();
            let (offset, size) = members.get(name).copied().unwrap_or_default();
            (diff_id.as_str().unwrap_or_default().to_owned(), offset, size)
        })
        .collect();
    layers.sort_by_key(|l| std::cmp::Reverse(l.2));
    in_parallel(&layers, |(diff_id, offset, size)| {
        let mut file = std::fs::File::open(archive)?;
        file.seek(std::io::SeekFrom::Start(*offset))?;
        let got = sha256_of(file.take(*size))?;
        if got != *diff_id {
            bail!("diff_id mismatch: {got}");
        }
        Ok(())
    })?;
    Ok(layers.len())
}

fn sha256_of(mut reader: impl Read) -> Result<String> {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(hash.finalize())))
}

/// Runs `verify` on every layer, one thread per core taking the next layer in order.
fn in_parallel<T: Sync + std::fmt::Debug>(layers: &[T], verify: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(layers.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while let Some(layer) = layers.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(e) = verify(layer) {
                        failures
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("{layer:?}: {e:#}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

/// Reads the layout's first manifest's layers.
fn floor_layout(layout: &Path) -> Result<usize> {
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
    in_parallel(&layers, |(digest, media_type, _)| {
        verify(&blob(digest), digest, media_type)
    })?;
    Ok(layers.len())
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
