//! `cargo xtask floor [--single-stream|--parallel] LAYOUT|ARCHIVE`: the least work any tool
//! verifying an image must do, to measure imgprof against, with no tar walk and no
//! analysis, layers in parallel (largest first, one per core):
//! - an OCI layout: every layer blob read once, its sha256 computed, decompressed, and the
//!   sha256 of the tar stream computed;
//! - a `docker save` archive: every layer member's sha256 computed, read in place.
//!
//! For a layout, `--single-stream` does that for the largest layer only, on one thread
//! (the three steps one after another: what one thread per layer costs at best), and
//! `--parallel` for every layer with each layer's three steps on three threads handing
//! buffers on, layers one per core (the same work spread over the cores: what a pipelined
//! reader costs at best).

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// How the layers of a layout are verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Layers one per core, each one's steps one after another.
    Layers,
    /// The largest layer only, on one thread.
    SingleStream,
    /// Layers one per core, each one's steps on three threads.
    Parallel,
}

/// Verifies the layers of a layout directory or a docker-archive; prints the time taken.
pub fn floor(input: &Path, mode: Mode) -> Result<()> {
    let start = std::time::Instant::now();
    let layers = match (input.is_dir(), mode) {
        (true, _) => floor_layout(input, mode)?,
        (false, Mode::Layers) => floor_archive(input)?,
        (false, _) => bail!("--single-stream and --parallel take an OCI layout"),
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
fn floor_layout(layout: &Path, mode: Mode) -> Result<usize> {
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
    match mode {
        Mode::SingleStream => {
            let (digest, media_type, _) = layers.first().context("the manifest has no layers")?;
            verify(&blob(digest), digest, media_type)?;
            Ok(1)
        }
        Mode::Layers => {
            in_parallel(&layers, |(digest, media_type, _)| {
                verify(&blob(digest), digest, media_type)
            })?;
            Ok(layers.len())
        }
        Mode::Parallel => {
            in_parallel(&layers, |(digest, media_type, _)| {
                verify_pipelined(&blob(digest), digest, media_type)
            })?;
            Ok(layers.len())
        }
    }
}

/// `verify` with its three steps on three threads: the blob read and hashed, inflated,
/// the tar stream hashed, 128 KiB buffers handed on through bounded channels.
fn verify_pipelined(path: &Path, digest: &str, media_type: &str) -> Result<()> {
    use std::sync::mpsc::sync_channel;
    const CHUNK: usize = 128 << 10;
    struct Chunks {
        chunks: std::sync::mpsc::Receiver<Vec<u8>>,
        current: Vec<u8>,
        at: usize,
    }
    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            while self.at == self.current.len() {
                match self.chunks.recv() {
                    Ok(chunk) => (self.current, self.at) = (chunk, 0),
                    Err(_) => return Ok(0),
                }
            }
            let n = buf.len().min(self.current.len() - self.at);
            buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }
    /// Reads `from` to its end in chunks onto `to`.
    fn forward(mut from: impl Read, to: std::sync::mpsc::SyncSender<Vec<u8>>) -> std::io::Result<()> {
        loop {
            let mut chunk = vec![0u8; CHUNK];
            let n = from.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            chunk.truncate(n);
            if to.send(chunk).is_err() {
                return Ok(());
            }
        }
    }
    let chunks = |receiver| Chunks {
        chunks: receiver,
        current: Vec::new(),
        at: 0,
    };
    let (blob_out, blob_in) = sync_channel(4);
    let (tar_out, tar_in) = sync_channel(4);
    std::thread::scope(|scope| -> Result<()> {
        let reader = scope.spawn(|| -> Result<String> {
            let mut file = std::fs::File::open(path)?;
            let mut hash = Sha256::new();
            loop {
                let mut chunk = vec![0u8; CHUNK];
                let n = file.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                chunk.truncate(n);
                hash.update(&chunk);
                if blob_out.send(chunk).is_err() {
                    break;
                }
            }
            drop(blob_out);
            Ok(format!("sha256:{}", hex::encode(hash.finalize())))
        });
        let blob = chunks(blob_in);
        let inflater = scope.spawn(move || -> Result<()> {
            let stream: Box<dyn Read> = if media_type.ends_with("gzip") {
                Box::new(flate2::read::MultiGzDecoder::new(blob))
            } else if media_type.ends_with("zstd") {
                Box::new(zstd::stream::read::Decoder::new(blob)?)
            } else {
                Box::new(blob)
            };
            Ok(forward(stream, tar_out)?)
        });
        let _ = sha256_of(chunks(tar_in))?;
        inflater
            .join()
            .map_err(|_| anyhow::anyhow!("the inflater panicked"))??;
        let got = reader.join().map_err(|_| anyhow::anyhow!("the reader panicked"))??;
        if got != digest {
            bail!("digest mismatch: {got}");
        }
        Ok(())
    })
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
