//! Writes small, valid images from a description: layers built entry by entry, then
//! stored as an OCI layout, an oci-archive, or a `docker save` archive (classic or
//! Docker 25+). Used by `cargo xtask testdata`; deterministic, so fixtures are stable.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const MTIME: u64 = 1_700_000_000;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    /// Two gzip members back to back: readers that stop after the first lose data.
    GzipMultiMember,
    Zstd,
    /// A skippable frame, then the tar split over two zstd frames.
    ZstdMultiFrame,
}

impl Compression {
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip | Compression::GzipMultiMember => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd | Compression::ZstdMultiFrame => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }

    pub fn apply(self, tar: &[u8]) -> Result<Vec<u8>> {
        let gzip = |bytes: &[u8]| -> Result<Vec<u8>> {
            let mut encoder = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::default());
            encoder.write_all(bytes)?;
            Ok(encoder.finish()?)
        };
        let half = tar.len() / 2;
        Ok(match self {
            Compression::None => tar.to_vec(),
            Compression::Gzip => gzip(tar)?,
            Compression::GzipMultiMember => [gzip(&tar[..half])?, gzip(&tar[half..])?].concat(),
            Compression::Zstd => zstd::encode_all(tar, 3)?,
            Compression::ZstdMultiFrame => {
                let mut skippable = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0];
                skippable.extend_from_slice(b"meta");
                [
                    skippable,
                    zstd::encode_all(&tar[..half], 3)?,
                    zstd::encode_all(&tar[half..], 3)?,
                ]
                .concat()
            }
        })
    }
}

/// Builds one layer's tar stream.
pub struct LayerTar {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for LayerTar {
    fn default() -> Self {
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        LayerTar { builder }
    }
}

impl LayerTar {
    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(MTIME);
        header.set_uid(0);
        header.set_gid(0);
        header
    }

    pub fn dir(mut self, path: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.builder
            .append_data(&mut h, format!("{path}/"), &[][..])
            .expect("in-memory tar");
        self
    }

    pub fn file(self, path: &str, content: &[u8]) -> Self {
        self.file_mode(path, content, 0o644)
    }

    pub fn file_mode(mut self, path: &str, content: &[u8], mode: u32) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, mode, content.len() as u64);
        self.builder.append_data(&mut h, path, content).expect("in-memory tar");
        self
    }

    pub fn file_owned(mut self, path: &str, content: &[u8], uid: u64, gid: u64) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, 0o644, content.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        self.builder.append_data(&mut h, path, content).expect("in-memory tar");
        self
    }

    /// A file whose name goes into a PAX `path` record instead of a GNU long name.
    pub fn pax_file(mut self, path: &str, content: &[u8]) -> Self {
        self.builder
            .append_pax_extensions([("path", path.as_bytes())])
            .expect("in-memory tar");
        let short: String = path.chars().rev().take(50).collect::<String>().chars().rev().collect();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(content.len() as u64);
        h.set_mtime(MTIME);
        h.set_path(short.trim_start_matches('/')).expect("short name fits");
        h.set_cksum();
        self.builder.append(&h, content).expect("in-memory tar");
        self
    }

    /// A GNU sparse file of `real_size` bytes whose only data are `chunks` (offset,
    /// bytes); the rest are holes.
    pub fn sparse_file(mut self, path: &str, real_size: u64, chunks: &[(u64, &[u8])]) -> Self {
        let stored: Vec<u8> = chunks.iter().flat_map(|(_, data)| data.iter().copied()).collect();
        let mut h = Self::header(tar::EntryType::GNUSparse, 0o644, stored.len() as u64);
        h.set_path(path).expect("short name");
        let gnu = h.as_gnu_mut().expect("gnu header");
        for (slot, (offset, data)) in gnu.sparse.iter_mut().zip(chunks) {
            slot.set_offset(*offset);
            slot.set_length(data.len() as u64);
        }
        gnu.set_real_size(real_size);
        h.set_cksum();
        self.builder.append(&h, &stored[..]).expect("in-memory tar");
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.builder.append_link(&mut h, path, target).expect("in-memory tar");
        self
    }

    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Link, 0o644, 0);
        self.builder.append_link(&mut h, path, target).expect("in-memory tar");
        self
    }

    pub fn fifo(mut self, path: &str) -> Self {
        let mut h = Self::header(tar::EntryType::Fifo, 0o644, 0);
        self.builder.append_data(&mut h, path, &[][..]).expect("in-memory tar");
        self
    }

    pub fn char_device(mut self, path: &str, major: u32, minor: u32) -> Self {
        let mut h = Self::header(tar::EntryType::Char, 0o666, 0);
        h.set_device_major(major).expect("gnu header");
        h.set_device_minor(minor).expect("gnu header");
        self.builder.append_data(&mut h, path, &[][..]).expect("in-memory tar");
        self
    }

    /// `.wh.NAME` next to `path`: deletes `path` from lower layers.
    pub fn whiteout(self, path: &str) -> Self {
        let name = match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/.wh.{name}"),
            None => format!(".wh.{path}"),
        };
        self.file(&name, b"")
    }

    /// `.wh..wh..opq` in `dir`: hides the directory's lower contents.
    pub fn opaque(self, dir: &str) -> Self {
        let name = if dir.is_empty() {
            ".wh..wh..opq".to_owned()
        } else {
            format!("{dir}/.wh..wh..opq")
        };
        self.file(&name, b"")
    }

    /// Appends raw bytes as a file entry with a name the builder would refuse
    /// (e.g. `../../etc/passwd`), for bad-input fixtures.
    pub fn raw_name_file(mut self, name: &str, content: &[u8]) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, 0o644, content.len() as u64);
        let bytes = name.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        h.set_cksum();
        self.builder.append(&h, content).expect("in-memory tar");
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.builder.into_inner().expect("in-memory tar")
    }
}

/// A layer ready to store: its tar, compression and the history line that made it.
pub struct Layer {
    pub tar: Vec<u8>,
    pub compression: Compression,
    pub created_by: String,
}

/// History entries that made no layer (ENV, CMD, ...), placed before layer `before`.
pub struct EmptyHistory {
    pub before: usize,
    pub created_by: String,
}

pub struct ImageSpec {
    pub architecture: &'static str,
    pub variant: Option<&'static str>,
    pub layers: Vec<Layer>,
    pub empty_history: Vec<EmptyHistory>,
    pub config: Value,
}

/// The blobs of one built image.
pub struct BuiltImage {
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
    /// (stored blob, uncompressed tar) per layer.
    pub layers: Vec<(Vec<u8>, Vec<u8>)>,
    pub architecture: &'static str,
    pub variant: Option<&'static str>,
}

impl ImageSpec {
    pub fn build(&self) -> Result<BuiltImage> {
        let mut history = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            for e in self.empty_history.iter().filter(|e| e.before == i) {
                history
                    .push(json!({"created": "2023-11-14T22:13:20Z", "created_by": e.created_by, "empty_layer": true}));
            }
            history.push(json!({"created": "2023-11-14T22:13:20Z", "created_by": layer.created_by}));
        }
        for e in self.empty_history.iter().filter(|e| e.before >= self.layers.len()) {
            history.push(json!({"created": "2023-11-14T22:13:20Z", "created_by": e.created_by, "empty_layer": true}));
        }
        let diff_ids: Vec<String> = self.layers.iter().map(|l| digest(&l.tar)).collect();
        let mut config = json!({
            "architecture": self.architecture,
            "os": "linux",
            "created": "2023-11-14T22:13:20Z",
            "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        if let Some(v) = self.variant {
            config["variant"] = json!(v);
        }
        let config = serde_json::to_vec(&config)?;
        let mut layers = Vec::new();
        let mut descriptors = Vec::new();
        for layer in &self.layers {
            let blob = layer.compression.apply(&layer.tar)?;
            descriptors.push(
                json!({"mediaType": layer.compression.media_type(), "digest": digest(&blob), "size": blob.len()}),
            );
            layers.push((blob, layer.tar.clone()));
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len()},
            "layers": descriptors,
        }))?;
        Ok(BuiltImage {
            config,
            manifest,
            layers,
            architecture: self.architecture,
            variant: self.variant,
        })
    }
}

impl BuiltImage {
    pub fn manifest_descriptor(&self, ref_name: Option<&str>, with_platform: bool) -> Value {
        let mut d = json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(&self.manifest),
            "size": self.manifest.len(),
        });
        if with_platform {
            d["platform"] = json!({"architecture": self.architecture, "os": "linux"});
            if let Some(v) = self.variant {
                d["platform"]["variant"] = json!(v);
            }
        }
        if let Some(name) = ref_name {
            d["annotations"] = json!({"org.opencontainers.image.ref.name": name});
        }
        d
    }

    /// All blobs by digest.
    pub fn blobs(&self) -> BTreeMap<String, Vec<u8>> {
        let mut blobs = BTreeMap::new();
        blobs.insert(digest(&self.config), self.config.clone());
        blobs.insert(digest(&self.manifest), self.manifest.clone());
        for (blob, _) in &self.layers {
            blobs.insert(digest(blob), blob.clone());
        }
        blobs
    }
}

/// Files of an image store, by path; written out as a directory or a tar file.
#[derive(Default)]
pub struct FileSet {
    pub files: BTreeMap<String, Vec<u8>>,
    pub symlinks: BTreeMap<String, String>,
}

impl FileSet {
    pub fn add(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.files.insert(path.into(), bytes);
    }

    pub fn add_blobs(&mut self, blobs: BTreeMap<String, Vec<u8>>) {
        for (d, bytes) in blobs {
            self.add(format!("blobs/sha256/{}", d.trim_start_matches("sha256:")), bytes);
        }
    }

    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        for (path, bytes) in &self.files {
            let full = dir.join(path);
            fs::create_dir_all(full.parent().expect("has parent"))?;
            fs::write(&full, bytes).with_context(|| format!("writing {}", full.display()))?;
        }
        Ok(())
    }

    pub fn to_tar(&self) -> Vec<u8> {
        let mut tar = LayerTar::default();
        let mut dirs = std::collections::BTreeSet::new();
        for path in self.files.keys().chain(self.symlinks.keys()) {
            let mut parts: Vec<&str> = path.split('/').collect();
            parts.pop();
            for i in 1..=parts.len() {
                dirs.insert(parts[..i].join("/"));
            }
        }
        for dir in dirs {
            tar = tar.dir(&dir);
        }
        for (path, bytes) in &self.files {
            tar = tar.file(path, bytes);
        }
        for (path, target) in &self.symlinks {
            tar = tar.symlink(path, target);
        }
        tar.finish()
    }

    pub fn write_tar(&self, path: &Path) -> Result<()> {
        fs::write(path, self.to_tar()).with_context(|| format!("writing {}", path.display()))
    }
}

pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// An OCI image layout holding `images` (each tagged).
pub fn oci_layout(images: &[(&BuiltImage, &str)]) -> Result<FileSet> {
    let mut set = FileSet::default();
    set.add("oci-layout", OCI_LAYOUT.to_vec());
    let manifests: Vec<Value> = images
        .iter()
        .map(|(img, tag)| img.manifest_descriptor(Some(tag), false))
        .collect();
    set.add(
        "index.json",
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}))?,
    );
    for (img, _) in images {
        set.add_blobs(img.blobs());
    }
    Ok(set)
}

/// A multi-platform image: `index.json` -> a tagged image index -> one manifest per
/// platform, plus a BuildKit-style attestation manifest with platform unknown/unknown.
pub fn oci_multi_platform(images: &[&BuiltImage], tag: &str) -> Result<FileSet> {
    let mut set = FileSet::default();
    set.add("oci-layout", OCI_LAYOUT.to_vec());
    let mut manifests: Vec<Value> = images.iter().map(|img| img.manifest_descriptor(None, true)).collect();
    let attestation = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(b"{}"), "size": 2},
        "layers": [],
    }))?;
    manifests.push(json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest(&attestation),
        "size": attestation.len(),
        "platform": {"architecture": "unknown", "os": "unknown"},
    }));
    set.add_blobs(BTreeMap::from([
        (digest(&attestation), attestation),
        (digest(b"{}"), b"{}".to_vec()),
    ]));
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}),
    )?;
    set.add(
        "index.json",
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": digest(&index),
                "size": index.len(),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }],
        }))?,
    );
    set.add_blobs(BTreeMap::from([(digest(&index), index)]));
    for img in images {
        set.add_blobs(img.blobs());
    }
    Ok(set)
}

/// A classic `docker save` archive (Docker < 25): `<id>/layer.tar` and `<config>.json`.
/// Layers are stored uncompressed, as `docker save` does.
pub fn docker_archive_classic(image: &BuiltImage, repo_tag: &str) -> Result<FileSet> {
    let mut set = FileSet::default();
    let config_name = format!("{}.json", sha256_hex(&image.config));
    set.add(config_name.clone(), image.config.clone());
    let mut layer_paths = Vec::new();
    let mut parent = String::new();
    for (_, tar) in &image.layers {
        // Classic layer ids are a chain hash; any stable unique id works for readers.
        let id = sha256_hex(format!("{parent}{}", digest(tar)).as_bytes());
        set.add(format!("{id}/layer.tar"), tar.clone());
        set.add(format!("{id}/VERSION"), b"1.0".to_vec());
        set.add(format!("{id}/json"), serde_json::to_vec(&json!({"id": id}))?);
        layer_paths.push(format!("{id}/layer.tar"));
        parent = id;
    }
    set.add(
        "manifest.json",
        serde_json::to_vec(&json!([{"Config": config_name, "RepoTags": [repo_tag], "Layers": layer_paths}]))?,
    );
    let (repo, tag) = repo_tag.rsplit_once(':').unwrap_or((repo_tag, "latest"));
    set.add("repositories", serde_json::to_vec(&json!({repo: {tag: parent}}))?);
    Ok(set)
}

/// A Docker 25+ `docker save` archive: an OCI layout plus `manifest.json` naming
/// `blobs/sha256/...`, with the legacy `<id>/layer.tar` entries as symlinks.
pub fn docker_archive_25(image: &BuiltImage, repo_tag: &str) -> Result<FileSet> {
    let mut uncompressed = FileSet::default();
    let mut descriptors = Vec::new();
    let mut layer_paths = Vec::new();
    let mut layer_sources = serde_json::Map::new();
    for (_, tar) in &image.layers {
        let d = digest(tar);
        let path = format!("blobs/sha256/{}", sha256_hex(tar));
        uncompressed.add(path.clone(), tar.clone());
        let descriptor = json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": tar.len()});
        layer_sources.insert(d.clone(), descriptor.clone());
        descriptors.push(descriptor);
        uncompressed
            .symlinks
            .insert(format!("{}/layer.tar", sha256_hex(tar)), format!("../{path}"));
        layer_paths.push(path);
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&image.config), "size": image.config.len()},
        "layers": descriptors,
    }))?;
    uncompressed.add_blobs(BTreeMap::from([
        (digest(&image.config), image.config.clone()),
        (digest(&manifest), manifest.clone()),
    ]));
    uncompressed.add("oci-layout", OCI_LAYOUT.to_vec());
    uncompressed.add(
        "index.json",
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(&manifest), "size": manifest.len(),
            "annotations": {"io.containerd.image.name": format!("docker.io/library/{repo_tag}"), "org.opencontainers.image.ref.name": repo_tag.rsplit_once(':').map_or("latest", |(_, t)| t)}
        }]}))?,
    );
    uncompressed.add(
        "manifest.json",
        serde_json::to_vec(&json!([{
            "Config": format!("blobs/sha256/{}", sha256_hex(&image.config)),
            "RepoTags": [repo_tag],
            "Layers": layer_paths,
            "LayerSources": layer_sources,
        }]))?,
    );
    Ok(uncompressed)
}

/// Deterministic filler bytes that do not compress away (xorshift64).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
