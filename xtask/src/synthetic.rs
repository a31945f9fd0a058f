//! Synthetic images for the benchmarks: a docker-archive whose one layer holds
//! 1,000,000 small files (1,000 directories of 1,000), to measure memory per file.
//! Written streaming (the layer is about 1 GB of tar) and kept in the cache directory of
//! the realistic images, so later runs reuse it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;
use sha2::{Digest, Sha256};

pub const MILLION_FILES: usize = 1_000_000;
const DIRS: usize = 1_000;

/// A writer that hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn header(path: &str, size: u64, kind: tar::EntryType, mode: u32) -> Result<tar::Header> {
    let mut header = tar::Header::new_gnu();
    header.set_path(path)?;
    header.set_size(size);
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    Ok(header)
}

/// The docker-archive with a 1,000,000-file layer, made once.
pub fn million_files_archive() -> Result<PathBuf> {
    let dir = crate::real_images::cache_root();
    let archive = dir.join("million-files.docker.tar");
    if archive.exists() {
        return Ok(archive);
    }
    std::fs::create_dir_all(&dir)?;
    eprintln!("xtask: writing {} (1,000,000 files, about 1 GB)", archive.display());
    let layer_path = dir.join("million-files.layer.tar.tmp");
    let diff_id = {
        let file = File::create(&layer_path).with_context(|| format!("creating {}", layer_path.display()))?;
        let mut writer = Hashing {
            inner: BufWriter::with_capacity(1 << 20, file),
            hash: Sha256::new(),
        };
        {
            let mut tar = tar::Builder::new(&mut writer);
            for d in 0..DIRS {
                let dir = format!("data/d{d:04}");
                tar.append(&header(&dir, 0, tar::EntryType::Directory, 0o755)?, std::io::empty())?;
                for f in 0..MILLION_FILES / DIRS {
                    // Distinct contents, 24 bytes each.
                    let content = format!("file {d:04}/{f:04} content\n");
                    let path = format!("{dir}/f{f:04}.txt");
                    tar.append(
                        &header(&path, content.len() as u64, tar::EntryType::Regular, 0o644)?,
                        content.as_bytes(),
                    )?;
                }
            }
            tar.finish()?;
        }
        writer.flush()?;
        format!("sha256:{}", hex::encode(writer.hash.finalize()))
    };
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "COPY data /data # buildkit"}],
    }))?;
    let config_name = format!("{}.json", hex::encode(Sha256::digest(&config)));
    let layer_name = format!("{}/layer.tar", diff_id.trim_start_matches("sha256:"));
    let manifest = serde_json::to_vec(&json!([{
        "Config": config_name,
        "RepoTags": ["synthetic/million-files:latest"],
        "Layers": [layer_name],
    }]))?;
    let tmp = dir.join("million-files.docker.tar.tmp");
    {
        let mut outer = tar::Builder::new(BufWriter::with_capacity(1 << 20, File::create(&tmp)?));
        let layer_len = std::fs::metadata(&layer_path)?.len();
        outer.append(
            &header(&layer_name, layer_len, tar::EntryType::Regular, 0o644)?,
            File::open(&layer_path)?,
        )?;
        outer.append(
            &header(&config_name, config.len() as u64, tar::EntryType::Regular, 0o644)?,
            &config[..],
        )?;
        outer.append(
            &header("manifest.json", manifest.len() as u64, tar::EntryType::Regular, 0o644)?,
            &manifest[..],
        )?;
        outer.into_inner()?.flush()?;
    }
    std::fs::remove_file(&layer_path)?;
    std::fs::rename(&tmp, &archive)?;
    Ok(archive)
}
