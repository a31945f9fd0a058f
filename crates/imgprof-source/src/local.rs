//! Opening local image sources: `docker save` archives (classic and Docker 25+), OCI image
//! layouts (directories) and oci-archives (the same as a tar file).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::digest::Digest;
use crate::error::SourceError;
use crate::files::SourceFiles;
use crate::platform::{Platform, PlatformEntry};
use crate::spec::{ArchiveManifestEntry, Descriptor, ImageConfig, ImageIndex, ImageManifest, media_type};
use crate::{BlobStore, Image, LayerBlob, SourceInfo, SourceKind};

/// How deep nested indexes may go before imgprof calls the layout malformed.
const MAX_INDEX_DEPTH: usize = 8;

/// A local source as the user wrote it: `PATH`, `PATH:TAG`, or with a skopeo-style
/// transport prefix (`oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:TAG]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRef {
    pub path: PathBuf,
    pub tag: Option<String>,
    pub transport: Option<SourceKind>,
}

impl LocalRef {
    /// Parses `arg` if it names something on the local filesystem; `None` otherwise (then
    /// it may be a registry reference).
    pub fn parse(arg: &str) -> Option<LocalRef> {
        let (transport, rest) = match arg.split_once(':') {
            Some(("oci", rest)) => (Some(SourceKind::OciLayout), rest),
            Some(("oci-archive", rest)) => (Some(SourceKind::OciArchive), rest),
            Some(("docker-archive", rest)) => (Some(SourceKind::DockerArchive), rest),
            _ => (None, arg),
        };
        if Path::new(rest).exists() || (transport.is_some() && !rest.contains(':')) {
            return Some(LocalRef {
                path: rest.into(),
                tag: None,
                transport,
            });
        }
        if let Some((path, tag)) = rest.rsplit_once(':')
            && !tag.is_empty()
            && !tag.contains('/')
            && (transport.is_some() || Path::new(path).exists())
        {
            return Some(LocalRef {
                path: path.into(),
                tag: Some(tag.to_owned()),
                transport,
            });
        }
        None
    }

    /// Whether `arg` looks like a path rather than a registry reference, so a missing
    /// file gets "no such file" instead of a registry lookup.
    pub fn looks_like_path(arg: &str) -> bool {
        arg.starts_with('/')
            || arg.starts_with("./")
            || arg.starts_with("../")
            || arg.starts_with('~')
            || arg.ends_with(".tar")
            || arg.contains(".tar:")
    }
}

pub(crate) fn open_local(local: &LocalRef, platform: Option<&Platform>) -> Result<Image, SourceError> {
    let files = SourceFiles::open(&local.path)?;
    let kind = match local.transport {
        Some(kind) => kind,
        None if files.contains("manifest.json") => SourceKind::DockerArchive,
        None if files.contains("oci-layout") && files.is_archive() => SourceKind::OciArchive,
        None if files.contains("oci-layout") => SourceKind::OciLayout,
        None => {
            return Err(SourceError::not_an_image(
                &local.path,
                "found neither manifest.json (docker save) nor oci-layout (OCI image layout)",
            ));
        }
    };
    match kind {
        SourceKind::Registry | SourceKind::DockerDaemon | SourceKind::Podman => Err(SourceError::not_an_image(
            &local.path,
            format!("a local path is not a {kind} source"),
        )),
        SourceKind::DockerArchive => open_docker_archive(files, local, platform),
        SourceKind::OciLayout | SourceKind::OciArchive => open_oci_layout(files, kind, local, platform),
    }
}

pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, SourceError> {
    serde_json::from_slice(bytes).map_err(|source| SourceError::Json {
        what: what.to_owned(),
        source,
    })
}

fn read_json<T: DeserializeOwned>(files: &SourceFiles, name: &str) -> Result<T, SourceError> {
    let bytes = files.read_small(name)?;
    parse_json(&bytes, &files.describe(name))
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// Reads a blob named by a descriptor, checking its size and digest before parsing.
fn read_verified_json<T: DeserializeOwned>(files: &SourceFiles, descriptor: &Descriptor) -> Result<T, SourceError> {
    let name = blob_path(descriptor.digest());
    let bytes = files.read_small(&name)?;
    let what = files.describe(&name);
    verify_bytes(&bytes, descriptor.digest(), &what)?;
    if bytes.len() as u64 != descriptor.size() {
        return Err(SourceError::invalid(
            what,
            format!(
                "size is {} bytes but its descriptor says {}",
                bytes.len(),
                descriptor.size()
            ),
        ));
    }
    parse_json(&bytes, &what)
}

pub(crate) fn verify_bytes(bytes: &[u8], expected: &Digest, what: &str) -> Result<(), SourceError> {
    let actual = Digest::of(bytes);
    if &actual != expected {
        return Err(SourceError::DigestMismatch {
            what: what.to_owned(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// The checks every opener applies to a manifest and its config, in this order; each
/// failure names its own location: the config blob, the manifest, where the platform was
/// chosen.
pub(crate) fn check_manifest(
    manifest: &ImageManifest,
    config: &ImageConfig,
    platform: Option<&Platform>,
    config_what: &str,
    manifest_what: &str,
    platform_what: &str,
) -> Result<(), SourceError> {
    check_layer_count(config, manifest.layers().len(), config_what)?;
    check_layer_descriptors(manifest, manifest_what)?;
    check_platform(config, platform, platform_what)
}

fn check_platform(config: &ImageConfig, wanted: Option<&Platform>, what: &str) -> Result<(), SourceError> {
    let have = config.platform();
    match wanted {
        Some(w) if !have.satisfies(w) => Err(SourceError::PlatformNotFound {
            what: what.to_owned(),
            wanted: w.to_string(),
            available: have.to_string(),
        }),
        _ => Ok(()),
    }
}

fn check_layer_count(config: &ImageConfig, layers: usize, what: &str) -> Result<(), SourceError> {
    let diff_ids = config.diff_ids().len();
    if diff_ids != layers {
        return Err(SourceError::invalid(
            what,
            format!("the config lists {diff_ids} diff_ids but the manifest has {layers} layers"),
        ));
    }
    Ok(())
}

/// Refuses layers that are not filesystem changesets (artifacts such as Helm charts or
/// WASM modules, encrypted layers, empty blobs): their bytes would be read as a tar, or
/// fail as one, and either way the report would describe something that is not there.
fn check_layer_descriptors(manifest: &ImageManifest, what: &str) -> Result<(), SourceError> {
    for (index, layer) in manifest.layers().iter().enumerate() {
        let media_type = layer.media_type();
        let is_layer = media_type.is_empty()
            || media_type.starts_with("application/vnd.oci.image.layer.")
            || media_type.starts_with("application/vnd.docker.image.rootfs.");
        let reason = if layer.size() == 0 {
            "an empty blob (0 bytes); even an empty layer holds a tar end-of-archive marker"
        } else if media_type.ends_with("+encrypted") {
            "an encrypted layer (ocicrypt), which cannot be read without its key"
        } else if !is_layer {
            "not an image layer; expected application/vnd.oci.image.layer.v1.tar[+gzip|+zstd] \
             or application/vnd.docker.image.rootfs.diff.tar[.gzip]"
        } else {
            continue;
        };
        return Err(SourceError::invalid(
            what,
            format!(
                "layer {index} ({}) has media type {media_type:?}: {reason}",
                layer.digest()
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- docker-archive

pub(crate) fn open_docker_archive(
    files: SourceFiles,
    local: &LocalRef,
    platform: Option<&Platform>,
) -> Result<Image, SourceError> {
    let manifest_name = files.describe("manifest.json");
    let entries: Vec<ArchiveManifestEntry> = read_json(&files, "manifest.json")?;
    let entry = select_archive_entry(entries, local.tag.as_deref(), &manifest_name)?;

    let config_bytes = files.read_small(&entry.config)?;
    let config_what = files.describe(&entry.config);
    // Classic archives name the config `<sha256>.json`, Docker 25+ `blobs/sha256/<sha256>`.
    let config_digest = digest_from_member_name(&entry.config);
    if let Some(expected) = &config_digest {
        verify_bytes(&config_bytes, expected, &config_what)?;
    }
    let config: ImageConfig = parse_json(&config_bytes, &config_what)?;
    check_layer_count(&config, entry.layers.len(), &config_what)?;
    check_platform(&config, platform, &manifest_name)?;

    let mut layers = Vec::with_capacity(entry.layers.len());
    for (index, member) in entry.layers.iter().enumerate() {
        let size = files.size(member).ok_or_else(|| SourceError::MissingFile {
            location: files.describe(member),
        })?;
        let digest = digest_from_member_name(member);
        let source = digest.as_ref().and_then(|d| entry.layer_sources.as_ref()?.get(d));
        layers.push(LayerBlob {
            index,
            media_type: source.map(|s| s.media_type().to_owned()),
            urls: Vec::new(),
            digest,
            diff_id: config.diff_ids()[index].clone(),
            size,
            location: files.describe(member),
            member: member.clone(),
        });
    }
    let tag = local
        .tag
        .clone()
        .or_else(|| entry.repo_tags.as_ref().and_then(|t| t.first().cloned()));
    Ok(Image {
        source: SourceInfo {
            kind: SourceKind::DockerArchive,
            location: local.path.display().to_string(),
            tag,
            platform: config.platform(),
        },
        manifest_digest: None,
        config_digest,
        config,
        layers,
        store: BlobStore::Local(files),
    })
}

fn select_archive_entry(
    entries: Vec<ArchiveManifestEntry>,
    tag: Option<&str>,
    what: &str,
) -> Result<ArchiveManifestEntry, SourceError> {
    let all_tags = || {
        let tags: Vec<String> = entries
            .iter()
            .flat_map(|e| e.repo_tags.clone().unwrap_or_default())
            .collect();
        if tags.is_empty() {
            "(untagged)".to_owned()
        } else {
            tags.join(", ")
        }
    };
    match tag {
        Some(tag) => {
            let position = entries.iter().position(|e| {
                e.repo_tags
                    .as_ref()
                    .is_some_and(|tags| tags.iter().any(|t| tag_matches(t, tag)))
            });
            let not_found = SourceError::TagNotFound {
                what: what.to_owned(),
                tag: tag.to_owned(),
                available: all_tags(),
            };
            position.and_then(|i| entries.into_iter().nth(i)).ok_or(not_found)
        }
        None if entries.len() == 1 => entries
            .into_iter()
            .next()
            .ok_or_else(|| SourceError::invalid(what, "lists no images")),
        None if entries.is_empty() => Err(SourceError::invalid(what, "lists no images")),
        None => Err(SourceError::Ambiguous {
            what: what.to_owned(),
            hint: "FILE:TAG".to_owned(),
            choices: all_tags(),
        }),
    }
}

/// `docker.io/library/app:1` matches `app:1`, `library/app:1` and `1`.
fn tag_matches(repo_tag: &str, wanted: &str) -> bool {
    let short = repo_tag.strip_prefix("docker.io/").unwrap_or(repo_tag);
    let shorter = short.strip_prefix("library/").unwrap_or(short);
    [repo_tag, short, shorter].contains(&wanted) || repo_tag.rsplit_once(':').is_some_and(|(_, t)| t == wanted)
}

fn digest_from_member_name(member: &str) -> Option<Digest> {
    let file = member.rsplit('/').next()?;
    let hex = file.strip_suffix(".json").unwrap_or(file);
    Digest::from_sha256_hex(hex).ok()
}

// ---------------------------------------------------------------- OCI layout

fn open_oci_layout(
    files: SourceFiles,
    kind: SourceKind,
    local: &LocalRef,
    platform: Option<&Platform>,
) -> Result<Image, SourceError> {
    if !files.contains("oci-layout") {
        return Err(SourceError::not_an_image(&local.path, "no oci-layout file"));
    }
    let index_what = files.describe("index.json");
    let index: ImageIndex = read_json(&files, "index.json")?;
    let roots = select_tagged(index.into_manifests(), local.tag.as_deref(), &index_what)?;
    let candidates = collect_manifests(&files, roots, 0)?;
    let chosen = choose_platform(&files, candidates, platform, &index_what)?;

    let manifest = chosen.manifest;
    let config_descriptor = manifest.config();
    let config: ImageConfig = read_verified_json(&files, config_descriptor)?;
    let config_what = files.describe(&blob_path(config_descriptor.digest()));
    check_manifest(
        &manifest,
        &config,
        platform,
        &config_what,
        &files.describe(&blob_path(chosen.descriptor.digest())),
        &index_what,
    )?;

    let mut layers = Vec::with_capacity(manifest.layers().len());
    for (index, descriptor) in manifest.layers().iter().enumerate() {
        let member = blob_path(descriptor.digest());
        let location = files.describe(&member);
        let size = files.size(&member).ok_or_else(|| {
            if descriptor.urls().is_empty() {
                SourceError::MissingFile {
                    location: location.clone(),
                }
            } else {
                SourceError::invalid(
                    location.clone(),
                    format!(
                        "foreign (non-distributable) layer is not in the layout; it lives at {}",
                        descriptor.urls().join(", ")
                    ),
                )
            }
        })?;
        if size != descriptor.size() {
            return Err(SourceError::invalid(
                location,
                format!("size is {size} bytes but the manifest says {}", descriptor.size()),
            ));
        }
        layers.push(LayerBlob {
            index,
            digest: Some(descriptor.digest().clone()),
            diff_id: config.diff_ids()[index].clone(),
            media_type: Some(descriptor.media_type().to_owned()),
            size,
            urls: descriptor.urls().to_vec(),
            location,
            member,
        });
    }
    Ok(Image {
        source: SourceInfo {
            kind,
            location: local.path.display().to_string(),
            tag: local.tag.clone().or(chosen.ref_name),
            platform: config.platform(),
        },
        manifest_digest: Some(chosen.descriptor.digest().clone()),
        config_digest: Some(config_descriptor.digest().clone()),
        config,
        layers,
        store: BlobStore::Local(files),
    })
}

fn select_tagged(roots: Vec<Descriptor>, tag: Option<&str>, what: &str) -> Result<Vec<Descriptor>, SourceError> {
    let Some(tag) = tag else { return Ok(roots) };
    let names = || {
        let names: Vec<&str> = roots.iter().filter_map(Descriptor::ref_name).collect();
        if names.is_empty() {
            "(no tags)".to_owned()
        } else {
            names.join(", ")
        }
    };
    let matching: Vec<Descriptor> = roots
        .iter()
        .filter(|d| d.ref_name().is_some_and(|name| tag_matches(name, tag)))
        .cloned()
        .collect();
    if matching.is_empty() {
        return Err(SourceError::TagNotFound {
            what: what.to_owned(),
            tag: tag.to_owned(),
            available: names(),
        });
    }
    Ok(matching)
}

/// An image manifest reachable from the layout's index, with what is known of it.
struct Candidate {
    descriptor: Descriptor,
    manifest: ImageManifest,
    platform: Option<Platform>,
    ref_name: Option<String>,
}

/// Walks (nested) indexes down to image manifests.
fn collect_manifests(files: &SourceFiles, roots: Vec<Descriptor>, depth: usize) -> Result<Vec<Candidate>, SourceError> {
    let mut out = Vec::new();
    for descriptor in roots {
        let what = files.describe(&blob_path(descriptor.digest()));
        if depth > MAX_INDEX_DEPTH {
            return Err(SourceError::invalid(
                what,
                format!("indexes nested deeper than {MAX_INDEX_DEPTH}"),
            ));
        }
        if media_type::is_index(descriptor.media_type()) {
            let index: ImageIndex = read_verified_json(files, &descriptor)?;
            let mut nested = collect_manifests(files, index.into_manifests(), depth + 1)?;
            for candidate in &mut nested {
                candidate.ref_name = candidate
                    .ref_name
                    .take()
                    .or_else(|| descriptor.ref_name().map(str::to_owned));
            }
            out.extend(nested);
        } else if media_type::is_manifest(descriptor.media_type()) {
            let manifest: ImageManifest = read_verified_json(files, &descriptor)?;
            out.push(Candidate {
                platform: descriptor.platform().cloned(),
                ref_name: descriptor.ref_name().map(str::to_owned),
                descriptor,
                manifest,
            });
        } else {
            return Err(SourceError::invalid(
                what,
                format!("unsupported media type {:?} in an index", descriptor.media_type()),
            ));
        }
    }
    Ok(out)
}

/// Picks the manifest for the wanted platform (the host's by default); a lone image is
/// taken as is unless a platform was asked for explicitly.
fn choose_platform(
    files: &SourceFiles,
    candidates: Vec<Candidate>,
    wanted: Option<&Platform>,
    what: &str,
) -> Result<Candidate, SourceError> {
    let mut candidates: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| !c.platform.as_ref().is_some_and(Platform::is_unknown))
        .collect();
    if candidates.is_empty() {
        return Err(SourceError::invalid(what, "contains no image manifest"));
    }
    if candidates.len() == 1 && wanted.is_none() {
        return Ok(candidates.remove(0));
    }
    // Descriptors without a platform are resolved from their config.
    for candidate in &mut candidates {
        if candidate.platform.is_none() {
            let config: ImageConfig = read_verified_json(files, candidate.manifest.config())?;
            candidate.platform = Some(config.platform());
        }
    }
    let target = wanted.cloned().unwrap_or_else(Platform::host);
    let matching: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].platform.as_ref().is_some_and(|p| p.satisfies(&target)))
        .collect();
    match matching.as_slice() {
        [] => Err(SourceError::PlatformNotFound {
            what: what.to_owned(),
            wanted: target.to_string(),
            available: describe_platforms(&candidates),
        }),
        [first, rest @ ..] => {
            let first_ref = candidates[*first].ref_name.clone();
            if rest.iter().any(|&i| candidates[i].ref_name != first_ref) {
                let choices: Vec<String> = matching
                    .iter()
                    .map(|&i| {
                        candidates[i]
                            .ref_name
                            .clone()
                            .unwrap_or_else(|| "(untagged)".to_owned())
                    })
                    .collect();
                return Err(SourceError::Ambiguous {
                    what: what.to_owned(),
                    hint: "DIR:TAG".to_owned(),
                    choices: choices.join(", "),
                });
            }
            Ok(candidates.swap_remove(*first))
        }
    }
}

fn describe_platforms(candidates: &[Candidate]) -> String {
    let names: Vec<String> = candidates
        .iter()
        .map(|c| {
            c.platform
                .as_ref()
                .map_or_else(|| "(unknown)".to_owned(), Platform::to_string)
        })
        .collect();
    names.join(", ")
}

/// The platforms a local source offers (for `imgprof platforms`).
pub(crate) fn list_platforms(local: &LocalRef) -> Result<Vec<PlatformEntry>, SourceError> {
    let files = SourceFiles::open(&local.path)?;
    if files.contains("manifest.json") && local.transport.is_none_or(|t| t == SourceKind::DockerArchive) {
        let image = open_docker_archive(files, local, None)?;
        return Ok(vec![PlatformEntry::image(
            image.config.platform(),
            image.config_digest,
            image.source.tag,
        )]);
    }
    let index_what = files.describe("index.json");
    let index: ImageIndex = read_json(&files, "index.json")?;
    let roots = select_tagged(index.into_manifests(), local.tag.as_deref(), &index_what)?;
    let mut entries = Vec::new();
    for candidate in collect_manifests(&files, roots, 0)? {
        let platform = match candidate.platform {
            Some(p) => p,
            None => read_verified_json::<ImageConfig>(&files, candidate.manifest.config())?.platform(),
        };
        entries.push(PlatformEntry::of_descriptor(
            &candidate.descriptor,
            platform,
            candidate.ref_name,
        ));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert!(tag_matches("docker.io/library/app:1", "app:1"));
        assert!(tag_matches("docker.io/library/app:1", "1"));
        assert!(tag_matches("naive", "naive"));
        assert!(!tag_matches("app:1", "app:2"));
    }

    #[test]
    fn member_digests() {
        let hex = "a".repeat(64);
        assert!(digest_from_member_name(&format!("{hex}.json")).is_some());
        assert!(digest_from_member_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(digest_from_member_name("abc/layer.tar").is_none());
    }
}
