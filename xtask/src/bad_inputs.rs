//! The hostile-input corpus under `testdata/bad/`: images broken on purpose, one fault
//! each, as a stranger's registry or tarball might serve them. Each file or directory is
//! named after its fault; `crates/imgprof/tests/integration/bad_inputs.rs` states what imgprof must
//! do with it (an error naming the file, blob or entry, or a report with a warning) and
//! fails when a case here has no expectation there.
//!
//! Most cases are tiny. The exceptions are generated from repeated blocks and compress
//! well in git: `zstd-bomb-100g.oci` (about 3 MB of zstd frames that expand to 100 GiB
//! of zeros) and `manifest-huge.oci` (a manifest padded past the JSON size limit).

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::image_writer::*;

/// Every case, written into `bad` (which the caller has emptied).
pub fn write(bad: &Path) -> Result<()> {
    not_images(bad)?;
    compression_faults(bad)?;
    tar_faults(bad)?;
    filesystem_faults(bad)?;
    json_faults(bad)?;
    descriptor_faults(bad)?;
    archive_faults(bad)?;
    zstd_bomb(&bad.join("zstd-bomb-100g.oci"))
}

fn not_images(bad: &Path) -> Result<()> {
    fs::write(bad.join("not-an-image.txt"), b"hello, I am not an image\n")?;
    fs::write(bad.join("empty.tar"), b"")?;
    fs::create_dir_all(bad.join("empty-dir"))?;
    fs::write(bad.join("empty-dir/.keep"), b"")?;
    // A layout marker and nothing else.
    let dir = bad.join("layout-without-index.oci");
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("oci-layout"), OCI_LAYOUT)?;
    Ok(())
}

/// A one-layer image holding `/etc/arch`, the base most cases break.
fn base() -> ImageSpec {
    image_of(vec![(
        LayerTar::default().dir("etc").file("etc/arch", b"bad").finish(),
        Compression::Gzip,
    )])
}

/// An image whose layers are these tars, stored with these compressions.
fn image_of(layers: Vec<(Vec<u8>, Compression)>) -> ImageSpec {
    ImageSpec {
        architecture: "amd64",
        variant: None,
        layers: layers
            .into_iter()
            .enumerate()
            .map(|(i, (tar, compression))| Layer {
                tar,
                compression,
                created_by: format!("RUN step-{i}"),
            })
            .collect(),
        empty_history: vec![],
        config: json!({}),
    }
}

fn write_layout(image: &BuiltImage, dir: &Path) -> Result<()> {
    oci_layout(&[(image, "bad")])?.write_dir(dir)
}

/// An image of one uncompressed layer made of these tar bytes.
fn layout_of_tar(tar: Vec<u8>, dir: &Path) -> Result<()> {
    write_layout(&image_of(vec![(tar, Compression::None)]).build()?, dir)
}

/// Replaces layer 0's stored blob, keeping its tar (so the diff_id stays right), and
/// makes the manifest describe the new blob: the only fault is in the blob's content.
fn with_layer_blob(blob: Vec<u8>, dir: &Path) -> Result<()> {
    let mut image = base().build()?;
    image.layers[0].0 = blob;
    rewrite_manifest(&mut image)?;
    write_layout(&image, dir)
}

fn compression_faults(bad: &Path) -> Result<()> {
    let tar = base().build()?.layers[0].1.clone();
    let gzip = Compression::Gzip.apply(&tar)?;
    let zstd = Compression::Zstd.apply(&tar)?;

    // Streams cut short; descriptors match the cut bytes, so the failure is the
    // decompression, not the digest.
    with_layer_blob(gzip[..gzip.len() / 2].to_vec(), &bad.join("truncated-gzip.oci"))?;
    with_layer_blob(zstd[..zstd.len() / 2].to_vec(), &bad.join("truncated-zstd.oci"))?;

    // The gzip trailer is CRC32 then ISIZE, little-endian, in the last 8 bytes.
    let mut crc = gzip.clone();
    let at = crc.len() - 8;
    crc[at] ^= 0xff;
    with_layer_blob(crc, &bad.join("gzip-crc-mismatch.oci"))?;
    let mut length = gzip.clone();
    let at = length.len() - 4;
    length[at] ^= 0x01;
    with_layer_blob(length, &bad.join("gzip-length-mismatch.oci"))?;

    // Bytes after the last gzip member that are not another member.
    let mut trailing = gzip.clone();
    trailing.extend_from_slice(b"this is not gzip");
    with_layer_blob(trailing, &bad.join("gzip-trailing-garbage.oci"))?;

    // A valid gzip stream of something that is not a tar.
    with_layer_blob(
        Compression::Gzip.apply(&noise(1, 4096))?,
        &bad.join("gzip-of-not-a-tar.oci"),
    )?;
    // A zero-byte blob declared as a gzip layer.
    with_layer_blob(Vec::new(), &bad.join("zero-byte-layer.oci"))?;
    Ok(())
}

/// A raw 512-byte tar header the builder would refuse to write.
fn raw_header(name: &[u8], kind: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(size);
    header.set_mtime(MTIME);
    let field = &mut header.as_old_mut().name;
    let len = name.len().min(field.len());
    field[..len].copy_from_slice(&name[..len]);
    header.set_cksum();
    header
}

/// Tar bytes assembled block by block: headers, contents padded to 512 bytes, and the
/// end-of-archive marker, with nothing checked.
#[derive(Default)]
struct RawTar(Vec<u8>);

impl RawTar {
    fn entry(mut self, header: &tar::Header, content: &[u8]) -> Self {
        self.0.extend_from_slice(header.as_bytes());
        self.data(content)
    }

    fn data(mut self, content: &[u8]) -> Self {
        self.0.extend_from_slice(content);
        let pad = (512 - content.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    /// A PAX extended header (`x`) whose records are given raw.
    fn pax(self, records: &[u8]) -> Self {
        let header = raw_header(b"PaxHeaders/entry", tar::EntryType::XHeader, records.len() as u64);
        self.entry(&header, records)
    }

    /// A PAX record: `"<len> <key>=<value>\n"`, where len counts the whole record.
    fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
        let body = 1 + key.len() + 1 + value.len() + 1;
        let mut len = body + 1;
        while len != body + len.to_string().len() {
            len = body + len.to_string().len();
        }
        let mut record = format!("{len} {key}=").into_bytes();
        record.extend_from_slice(value);
        record.push(b'\n');
        record
    }

    fn file(self, name: &[u8], content: &[u8]) -> Self {
        let header = raw_header(name, tar::EntryType::Regular, content.len() as u64);
        self.entry(&header, content)
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&[0u8; 1024]);
        self.0
    }
}

fn tar_faults(bad: &Path) -> Result<()> {
    // An uncompressed layer cut in the middle of an entry, digests matching the cut bytes.
    let full = LayerTar::default().file("big.bin", &[7u8; 4096]).finish();
    layout_of_tar(full[..2048].to_vec(), &bad.join("truncated-tar.oci"))?;

    let mut checksum = raw_header(b"etc/arch", tar::EntryType::Regular, 3);
    checksum.as_old_mut().cksum[2] ^= 0x01;
    layout_of_tar(
        RawTar::default().entry(&checksum, b"bad").finish(),
        &bad.join("tar-bad-checksum.oci"),
    )?;

    // A size field of 64 GiB over a few bytes of content.
    let huge = raw_header(b"huge.bin", tar::EntryType::Regular, 64 << 30);
    layout_of_tar(
        RawTar::default().entry(&huge, b"tiny").finish(),
        &bad.join("tar-huge-size.oci"),
    )?;

    // A base-256 size field with the sign bit set: a negative size.
    let mut negative = raw_header(b"negative.bin", tar::EntryType::Regular, 0);
    negative.as_old_mut().size = [0xff; 12];
    negative.set_cksum();
    layout_of_tar(
        RawTar::default().entry(&negative, b"").finish(),
        &bad.join("tar-negative-size.oci"),
    )?;

    // A PAX record whose length prefix is longer than the record.
    layout_of_tar(
        RawTar::default().pax(b"99 path=short\n").file(b"short", b"x").finish(),
        &bad.join("tar-bad-pax-length.oci"),
    )?;
    // A PAX record whose length is not a number.
    layout_of_tar(
        RawTar::default().pax(b"xx path=short\n").file(b"short", b"x").finish(),
        &bad.join("tar-bad-pax-number.oci"),
    )?;

    // A 5,000-byte name (PAX), beyond Linux's PATH_MAX of 4096 for one system call but
    // creatable one directory at a time: read, not refused.
    let long: Vec<u8> = (0..50)
        .flat_map(|i| format!("{i:02}{}/", "d".repeat(97)).into_bytes())
        .chain(*b"file")
        .collect();
    layout_of_tar(
        RawTar::default()
            .pax(&RawTar::pax_record("path", &long))
            .file(b"placeholder", b"long")
            .finish(),
        &bad.join("tar-name-5000-bytes.oci"),
    )?;

    // A GNU long-name member of 100 MiB: a name no file system holds, which a reader
    // that buffers names would have to keep in memory. Gzip makes it 100 KB.
    let name_size = 100 << 20;
    let longname = raw_header(b"././@LongLink", tar::EntryType::GNULongName, name_size as u64);
    let mut tar = longname.as_bytes().to_vec();
    tar.extend(std::iter::repeat_n(b'a', name_size));
    let tar = RawTar(tar).file(b"placeholder", b"x").finish();
    write_layout(
        &image_of(vec![(tar, Compression::Gzip)]).build()?,
        &bad.join("tar-longname-100m.oci"),
    )?;

    // NUL inside a PAX path: the header field form cannot hold one, PAX can.
    layout_of_tar(
        RawTar::default()
            .pax(&RawTar::pax_record("path", b"etc/nul\0hidden"))
            .file(b"placeholder", b"nul")
            .finish(),
        &bad.join("tar-nul-in-name.oci"),
    )?;
    // Latin-1 bytes that are not UTF-8.
    layout_of_tar(
        RawTar::default().file(b"etc/caf\xe9", b"latin-1").finish(),
        &bad.join("tar-non-utf8-name.oci"),
    )?;
    // Terminal control sequences in a name: a window-title OSC, clear-screen and a
    // carriage return that would overwrite the line printed before it.
    layout_of_tar(
        RawTar::default()
            .file(b"app/\x1b]0;owned\x07\x1b[2J\rnot-what-it-seems", &vec![b'x'; 4096])
            .finish(),
        &bad.join("tar-control-chars-in-name.oci"),
    )?;

    // An entry type no tar writer uses.
    layout_of_tar(
        RawTar::default()
            .entry(&raw_header(b"weird", tar::EntryType::new(b'Z'), 0), b"")
            .finish(),
        &bad.join("tar-unknown-entry-type.oci"),
    )?;
    // An uncompressed layer that is noise, not a tar.
    layout_of_tar(noise(2, 4096), &bad.join("plain-not-a-tar.oci"))?;

    // Entries that climb out of the root, or are absolute.
    for (name, entry) in [
        ("escape-path.oci", "../../etc/passwd"),
        ("escape-inside-path.oci", "usr/../../etc/shadow"),
        ("absolute-path.oci", "/abs/path"),
    ] {
        let tar = LayerTar::default().raw_name_file(entry, b"root:x:0:0\n").finish();
        layout_of_tar(tar, &bad.join(name))?;
    }
    // A hard link whose target climbs out of the root.
    layout_of_tar(
        LayerTar::default()
            .file("etc/arch", b"x")
            .hardlink("etc/passwd", "../../../etc/passwd")
            .finish(),
        &bad.join("hardlink-escape.oci"),
    )?;
    Ok(())
}

fn filesystem_faults(bad: &Path) -> Result<()> {
    // 10,000 nested directories and a file at the bottom: paths of 20 KB, and any
    // recursion over the tree 10,000 frames deep.
    let mut deep = LayerTar::default();
    let mut path = String::new();
    for _ in 0..10_000 {
        path.push_str("d/");
        deep = deep.dir(path.trim_end_matches('/'));
    }
    path.push_str("bottom.txt");
    let deep = deep.file(&path, b"deep");
    write_layout(
        &image_of(vec![(deep.finish(), Compression::Gzip)]).build()?,
        &bad.join("deep-10000-dirs.oci"),
    )?;

    // Hard links to a path no layer has, and two links naming each other.
    layout_of_tar(
        LayerTar::default()
            .file("etc/arch", b"x")
            .hardlink("usr/bin/ghost", "usr/bin/never-written")
            .finish(),
        &bad.join("hardlink-missing-target.oci"),
    )?;
    layout_of_tar(
        LayerTar::default()
            .hardlink("loop/a", "loop/b")
            .hardlink("loop/b", "loop/a")
            .finish(),
        &bad.join("hardlink-cycle.oci"),
    )?;
    // A link to itself, then a symlink loop and a symlink to its own directory.
    layout_of_tar(
        LayerTar::default()
            .dir("loop")
            .symlink("loop/a", "b")
            .symlink("loop/b", "a")
            .symlink("loop/self", ".")
            .symlink("loop/up", "../loop/up")
            .hardlink("loop/me", "loop/me")
            .finish(),
        &bad.join("symlink-loops.oci"),
    )?;

    // Whiteouts of paths no lower layer has, at several depths.
    let lower = LayerTar::default().dir("etc").file("etc/arch", b"x").finish();
    let upper = LayerTar::default()
        .whiteout("etc/never-existed")
        .whiteout("no/such/dir/file")
        .opaque("not/a/dir")
        .finish();
    write_layout(
        &image_of(vec![(lower.clone(), Compression::Gzip), (upper, Compression::Gzip)]).build()?,
        &bad.join("whiteout-never-existed.oci"),
    )?;
    // An opaque whiteout at the root hides every lower file.
    let upper = LayerTar::default().opaque("").file("new.txt", b"only me").finish();
    write_layout(
        &image_of(vec![(lower.clone(), Compression::Gzip), (upper, Compression::Gzip)]).build()?,
        &bad.join("opaque-root.oci"),
    )?;
    // A whiteout with no name (`.wh.`), which deletes nothing nameable.
    layout_of_tar(
        LayerTar::default().file("etc/.wh.", b"").finish(),
        &bad.join("whiteout-empty-name.oci"),
    )?;

    // The same path twice in one layer: a tar's later entry wins.
    layout_of_tar(
        LayerTar::default()
            .file("etc/twice", &[1u8; 100])
            .file("etc/twice", &[2u8; 300])
            .finish(),
        &bad.join("duplicate-path.oci"),
    )?;
    // A file, then a directory of the same name with a file under it.
    layout_of_tar(
        LayerTar::default()
            .file("etc/conf", &[1u8; 10])
            .dir("etc/conf")
            .file("etc/conf/inner", &[2u8; 20])
            .finish(),
        &bad.join("file-then-dir.oci"),
    )?;
    Ok(())
}

fn json_faults(bad: &Path) -> Result<()> {
    let with_manifest = |manifest: Vec<u8>, name: &str| -> Result<()> {
        let mut image = base().build()?;
        image.manifest = manifest;
        write_layout(&image, &bad.join(name))
    };
    let good = base().build()?;
    with_manifest(b"<html>not JSON</html>".to_vec(), "manifest-not-json.oci")?;
    with_manifest(
        good.manifest[..good.manifest.len() / 2].to_vec(),
        "manifest-truncated.oci",
    )?;
    with_manifest(nested(100_000), "manifest-deep-nesting.oci")?;
    // Valid JSON in every byte but padded past the 32 MiB document limit.
    let mut huge = good.manifest.clone();
    let close = huge.pop();
    huge.extend(std::iter::repeat_n(b' ', 33 << 20));
    huge.extend(close);
    with_manifest(huge, "manifest-huge.oci")?;
    with_manifest(
        serde_json::to_vec(&json!({"schemaVersion": 2}))?,
        "manifest-no-layers.oci",
    )?;

    let with_config = |config: Vec<u8>, name: &str| -> Result<()> {
        let mut image = base().build()?;
        image.config = config;
        rewrite_manifest(&mut image)?;
        write_layout(&image, &bad.join(name))
    };
    with_config(nested(100_000), "config-deep-nesting.oci")?;
    with_config(Vec::new(), "zero-byte-config.oci")?;
    let mut config: Value = serde_json::from_slice(&good.config)?;
    config.as_object_mut().context("config object")?.remove("rootfs");
    with_config(serde_json::to_vec(&config)?, "config-no-rootfs.oci")?;
    let mut config: Value = serde_json::from_slice(&good.config)?;
    config["rootfs"]["diff_ids"][0] = json!(12345);
    with_config(serde_json::to_vec(&config)?, "config-diffid-not-a-string.oci")?;

    // The config lists two diff_ids for one layer.
    let mut config: Value = serde_json::from_slice(&good.config)?;
    config["rootfs"]["diff_ids"]
        .as_array_mut()
        .context("diff_ids array")?
        .push(json!(digest(b"extra")));
    with_config(serde_json::to_vec(&config)?, "diffid-count.oci")?;
    // The uncompressed stream does not match the config's diff_id.
    let mut config: Value = serde_json::from_slice(&good.config)?;
    config["rootfs"]["diff_ids"][0] = json!(digest(b"something else"));
    with_config(serde_json::to_vec(&config)?, "diffid-mismatch.oci")?;

    // index.json faults.
    let with_index = |index: Vec<u8>, name: &str| -> Result<()> {
        let mut set = oci_layout(&[(&good, "bad")])?;
        set.add("index.json", index);
        set.write_dir(&bad.join(name))
    };
    with_index(b"{\"manifests\": [".to_vec(), "index-not-json.oci")?;
    with_index(
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": []}))?,
        "index-empty.oci",
    )?;
    let dangling = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest(b"no such manifest"), "size": 16,
        "annotations": {"org.opencontainers.image.ref.name": "bad"},
    }]});
    with_index(serde_json::to_vec(&dangling)?, "index-dangling.oci")?;
    // index.json -> a nested index -> a manifest that is not there.
    let mut set = oci_layout(&[(&good, "bad")])?;
    let nested_index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(b"no such manifest"), "size": 16,
            "platform": {"architecture": "amd64", "os": "linux"},
        }]}),
    )?;
    set.add(
        "index.json",
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest(&nested_index), "size": nested_index.len(),
            "annotations": {"org.opencontainers.image.ref.name": "bad"},
        }]}))?,
    );
    set.add_blobs([(digest(&nested_index), nested_index)].into());
    set.write_dir(&bad.join("index-nested-dangling.oci"))?;
    Ok(())
}

/// `depth` nested JSON arrays.
fn nested(depth: usize) -> Vec<u8> {
    let mut bytes = vec![b'['; depth];
    bytes.extend(std::iter::repeat_n(b']', depth));
    bytes
}

fn descriptor_faults(bad: &Path) -> Result<()> {
    let with_layer_descriptor = |edit: &dyn Fn(&mut Value), name: &str| -> Result<()> {
        let mut image = base().build()?;
        let mut manifest: Value = serde_json::from_slice(&image.manifest)?;
        edit(&mut manifest["layers"][0]);
        image.manifest = serde_json::to_vec(&manifest)?;
        write_layout(&image, &bad.join(name))
    };
    with_layer_descriptor(
        &|layer| layer["mediaType"] = json!("application/x-unknown-layer"),
        "unknown-media-type.oci",
    )?;
    with_layer_descriptor(
        &|layer| layer["digest"] = json!("md5:d41d8cd98f00b204e9800998ecf8427e"),
        "unsupported-digest-algorithm.oci",
    )?;
    with_layer_descriptor(
        &|layer| layer["digest"] = json!("sha256:../../../../etc/passwd"),
        "digest-path-traversal.oci",
    )?;
    with_layer_descriptor(
        &|layer| layer["digest"] = json!("sha256:ABCDEF"),
        "digest-malformed-hex.oci",
    )?;
    with_layer_descriptor(&|layer| layer["size"] = json!(-1), "descriptor-negative-size.oci")?;
    with_layer_descriptor(
        &|layer| {
            let size = layer["size"].as_u64().unwrap_or(0);
            layer["size"] = json!(size + 1000);
        },
        "descriptor-size-too-large.oci",
    )?;
    with_layer_descriptor(
        &|layer| {
            let size = layer["size"].as_u64().unwrap_or(0);
            layer["size"] = json!(size / 2);
        },
        "descriptor-size-too-small.oci",
    )?;

    // One byte of the layer blob flipped after the manifest was written.
    let image = base().build()?;
    let mut set = oci_layout(&[(&image, "bad")])?;
    let mut flipped = image.layers[0].0.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    set.add(format!("blobs/sha256/{}", sha256_hex(&image.layers[0].0)), flipped);
    set.write_dir(&bad.join("digest-mismatch.oci"))?;

    // The manifest names a layer blob that is not there.
    let mut missing = oci_layout(&[(&image, "bad")])?;
    missing
        .files
        .remove(&format!("blobs/sha256/{}", sha256_hex(&image.layers[0].0)));
    missing.write_dir(&bad.join("missing-blob.oci"))?;
    Ok(())
}

fn archive_faults(bad: &Path) -> Result<()> {
    let good = image_of(vec![(
        LayerTar::default().dir("etc").file("etc/arch", b"bad").finish(),
        Compression::None,
    )])
    .build()?;

    // manifest.json names a layer file that is not in the tar.
    let mut archive = docker_archive_classic(&good, "bad:missing-layer")?;
    let layer = archive
        .files
        .keys()
        .find(|k| k.ends_with("layer.tar"))
        .cloned()
        .context("one layer")?;
    archive.files.remove(&layer);
    archive.write_tar(&bad.join("missing-layer.docker.tar"))?;

    let mut archive = docker_archive_classic(&good, "bad:missing-config")?;
    let config = format!("{}.json", sha256_hex(&good.config));
    archive.files.remove(&config);
    archive.write_tar(&bad.join("missing-config.docker.tar"))?;

    let mut archive = docker_archive_classic(&good, "bad:manifest")?;
    archive.add("manifest.json", b"[{\"Config\": ".to_vec());
    archive.write_tar(&bad.join("manifest-not-json.docker.tar"))?;

    // manifest.json naming files outside the archive.
    let mut archive = docker_archive_classic(&good, "bad:escape")?;
    archive.add(
        "manifest.json",
        serde_json::to_vec(
            &json!([{"Config": "../../etc/passwd", "RepoTags": ["bad:escape"], "Layers": ["/etc/shadow"]}]),
        )?,
    );
    archive.write_tar(&bad.join("manifest-escape.docker.tar"))?;

    // A docker-archive compressed as a whole (`docker save | gzip`).
    let plain = docker_archive_classic(&good, "bad:gz")?.to_tar();
    fs::write(bad.join("compressed.docker.tar.gz"), Compression::Gzip.apply(&plain)?)?;
    // The archive's own tar cut in half.
    fs::write(bad.join("truncated.docker.tar"), &plain[..plain.len() / 2])?;
    Ok(())
}

/// A zstd layer whose tar holds one file of 100 GiB of zeros: a 512-byte header frame,
/// then one frame of 1 GiB of zeros repeated 100 times (zstd frames concatenate), then
/// the end-of-archive frame. The config's diff_id is the real sha256 of the 100 GiB
/// stream, computed here block by block, so the image is valid apart from its size.
fn zstd_bomb(dir: &Path) -> Result<()> {
    const GIB: u64 = 1 << 30;
    const FRAMES: u64 = 100;
    let header = raw_header(b"zeros.bin", tar::EntryType::Regular, FRAMES * GIB);
    let zeros = vec![0u8; 1 << 20];
    let gib_frame = {
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 19)?;
        for _ in 0..1024 {
            encoder.write_all(&zeros)?;
        }
        encoder.finish()?
    };
    let mut blob = zstd::encode_all(&header.as_bytes()[..], 3)?;
    let mut diff_id = Sha256::new();
    diff_id.update(header.as_bytes());
    for _ in 0..FRAMES {
        blob.extend_from_slice(&gib_frame);
        for _ in 0..1024 {
            diff_id.update(&zeros);
        }
    }
    blob.extend(zstd::encode_all(&[0u8; 1024][..], 3)?);
    diff_id.update([0u8; 1024]);
    let diff_id = format!("sha256:{}", hex::encode(diff_id.finalize()));

    let mut image = base().build()?;
    let mut config: Value = serde_json::from_slice(&image.config)?;
    config["rootfs"]["diff_ids"] = json!([diff_id]);
    config["history"][0]["created_by"] = json!("RUN head -c 100G /dev/zero > /zeros.bin");
    image.config = serde_json::to_vec(&config)?;
    image.layers[0].0 = blob;
    rewrite_manifest(&mut image)?;
    let mut manifest: Value = serde_json::from_slice(&image.manifest)?;
    manifest["layers"][0]["mediaType"] = json!(Compression::Zstd.media_type());
    image.manifest = serde_json::to_vec(&manifest)?;
    write_layout(&image, dir)
}

/// Points the manifest at the image's current config and layer blobs.
pub fn rewrite_manifest(image: &mut BuiltImage) -> Result<()> {
    let mut manifest: Value = serde_json::from_slice(&image.manifest)?;
    manifest["config"]["digest"] = json!(digest(&image.config));
    manifest["config"]["size"] = json!(image.config.len());
    for (i, (blob, _)) in image.layers.iter().enumerate() {
        manifest["layers"][i]["digest"] = json!(digest(blob));
        manifest["layers"][i]["size"] = json!(blob.len());
    }
    image.manifest = serde_json::to_vec(&manifest)?;
    Ok(())
}
