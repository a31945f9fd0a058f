//! Opening local image sources: `docker save` archives (classic and Docker 25+), OCI image
//! layouts (directories) and oci-archives (the same as a tar file).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::digest::Digest;
use crate::error::SourceError;
use crate::files::SourceFiles;
use crate::platform::{EntryKind, Platform, PlatformEntry};
use crate::spec::{
    ATTESTATION_MANIFEST, ArchiveManifestEntry, Descriptor, ImageConfig, ImageIndex, ImageManifest,
    REFERENCE_TYPE_ANNOTATION, media_type,
};
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
    /// it may be a registry reference). What follows the path after a `:` selects an image
    /// inside it, as skopeo's transports write it: a tag or `NAME[:TAG]` (`multi.tar:app:2`,
    /// `layout:v1`), or `@N` for a docker-archive's N-th image (`multi.tar:@1`). The path
    /// is the shortest prefix that exists; with a transport prefix and no such path,
    /// everything up to the first `:`, as skopeo splits it.
    pub fn parse(arg: &str) -> Option<LocalRef> {
        let (transport, rest) = match arg.split_once(':') {
            Some(("oci", rest)) => (Some(SourceKind::OciLayout), rest),
            Some(("oci-archive", rest)) => (Some(SourceKind::OciArchive), rest),
            Some(("docker-archive", rest)) => (Some(SourceKind::DockerArchive), rest),
            _ => (None, arg),
        };
        let local = |path: &str, tag: Option<&str>| LocalRef {
            path: path.into(),
            tag: tag.map(str::to_owned),
            transport,
        };
        if Path::new(rest).exists() {
            return Some(local(rest, None));
        }
        let existing = rest
            .match_indices(':')
            .map(|(i, _)| (&rest[..i], &rest[i + 1..]))
            .find(|(path, selection)| is_selection(selection) && Path::new(path).exists());
        if let Some((path, selection)) = existing {
            return Some(local(path, Some(selection)));
        }
        transport.map(|_| match rest.split_once(':') {
            Some((path, selection)) if !selection.is_empty() => local(path, Some(selection)),
            _ => local(rest, None),
        })
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

/// What may follow `PATH:`: anything but a registry's port and path (`localhost:5000/app`
/// when a file `localhost` exists).
fn is_selection(selection: &str) -> bool {
    let first = selection.split('/').next().unwrap_or_default();
    !selection.is_empty() && (!selection.contains('/') || !first.chars().all(|c| c.is_ascii_digit()))
}

/// Which image of a docker-archive the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveSelection<'a> {
    /// The only image.
    Only,
    /// skopeo's `@N`: the N-th entry of `manifest.json`, from 0.
    Index(usize),
    /// A `RepoTags` entry: `NAME:TAG`, `NAME` (meaning `NAME:latest`) or a bare tag.
    Reference(&'a str),
}

impl<'a> ArchiveSelection<'a> {
    fn of(tag: Option<&'a str>) -> Self {
        match tag {
            None => ArchiveSelection::Only,
            Some(tag) => match tag.strip_prefix('@').and_then(|n| n.parse().ok()) {
                Some(index) => ArchiveSelection::Index(index),
                None => ArchiveSelection::Reference(tag),
            },
        }
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
        SourceKind::Registry | SourceKind::DockerDaemon | SourceKind::Podman | SourceKind::Containerd => Err(
            SourceError::not_an_image(&local.path, format!("a local path is not a {kind} source")),
        ),
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
    let (bytes, what) = read_verified(files, descriptor)?;
    parse_json(&bytes, &what)
}

/// The bytes of the blob a descriptor names, once its digest and size matched, and the
/// blob's name for messages.
fn read_verified(files: &SourceFiles, descriptor: &Descriptor) -> Result<(Vec<u8>, String), SourceError> {
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
    Ok((bytes, what))
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
    let selection = ArchiveSelection::of(local.tag.as_deref());
    let entry = select_archive_entry(entries, selection, &manifest_name, &local.path)?;

    let config_bytes = files.read_small(&entry.config)?;
    let config_what = files.describe(&entry.config);
    // Classic archives name the config `<sha256>.json`, Docker 25+ `blobs/sha256/<sha256>`:
    // that name is the digest the content must have. Other writers name it `config.json`
    // or anything else; docker and dive load those, and the image id is still the
    // digest of the config's bytes.
    let config_digest = match digest_from_member_name(&entry.config) {
        Some(named) => {
            verify_bytes(&config_bytes, &named, &config_what)?;
            named
        }
        None => Digest::of(&config_bytes),
    };
    let config: ImageConfig = parse_json(&config_bytes, &config_what)?;
    check_layer_count(&config, entry.layers.len(), &config_what)?;
    check_platform(&config, platform, &manifest_name)?;

    let mut layers = Vec::with_capacity(entry.layers.len());
    for (index, member) in entry.layers.iter().enumerate() {
        let digest = digest_from_member_name(member);
        // Docker keys `LayerSources` by diff_id (the layer's uncompressed digest); for
        // Docker 25+'s `blobs/sha256/<digest>` members that is also the member's name.
        let diff_id = &config.diff_ids()[index];
        let layer_sources = entry.layer_sources.as_ref();
        let source = layer_sources
            .and_then(|sources| sources.get(diff_id))
            .or_else(|| digest.as_ref().and_then(|d| layer_sources?.get(d)));
        let size = files
            .size(member)
            .ok_or_else(|| missing_layer(&files.describe(member), source))?;
        layers.push(LayerBlob {
            index,
            media_type: source.map(|s| s.media_type().to_owned()),
            urls: source.map(|s| s.urls().to_vec()).unwrap_or_default(),
            digest,
            diff_id: config.diff_ids()[index].clone(),
            size,
            location: files.describe(member),
            member: member.clone(),
        });
    }
    let first_tag = || entry.repo_tags.as_ref().and_then(|t| t.first().cloned());
    let tag = match selection {
        ArchiveSelection::Reference(tag) => Some(tag.to_owned()),
        ArchiveSelection::Only | ArchiveSelection::Index(_) => first_tag(),
    };
    Ok(Image {
        source: SourceInfo {
            kind: SourceKind::DockerArchive,
            location: local.path.display().to_string(),
            tag,
            platform: config.platform(),
        },
        manifest_digest: None,
        config_digest: Some(config_digest),
        config,
        layers,
        store: BlobStore::Local {
            files,
            notes: Vec::new(),
        },
    })
}

/// The error for a layer whose blob is not in the source: a foreign layer's says where it
/// is published (`docker save` leaves such layers out and lists them in `LayerSources`).
fn missing_layer(location: &str, descriptor: Option<&Descriptor>) -> SourceError {
    match descriptor {
        Some(d) if !d.urls().is_empty() => SourceError::ForeignLayerAbsent {
            location: location.to_owned(),
            media_type: d.media_type().to_owned(),
            urls: d.urls().join(", "),
        },
        _ => SourceError::MissingFile {
            location: location.to_owned(),
        },
    }
}

/// Picks the entry of `manifest.json` the user asked for; several images and no choice
/// is an error that lists each image and how to name it.
fn select_archive_entry(
    mut entries: Vec<ArchiveManifestEntry>,
    selection: ArchiveSelection<'_>,
    what: &str,
    path: &Path,
) -> Result<ArchiveManifestEntry, SourceError> {
    let choices = |entries: &[ArchiveManifestEntry]| {
        let choices: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| match e.repo_tags.as_deref().unwrap_or_default() {
                [] => format!("@{i} (untagged)"),
                tags => format!("{} (@{i})", tags.join(", ")),
            })
            .collect();
        choices.join("; ")
    };
    let found = match selection {
        _ if entries.is_empty() => return Err(SourceError::invalid(what, "lists no images")),
        ArchiveSelection::Only if entries.len() == 1 => Some(0),
        ArchiveSelection::Only => {
            return Err(SourceError::ChooseImage {
                what: what.to_owned(),
                count: entries.len(),
                hint: format!("{0}:NAME:TAG, {0}:NAME (for NAME:latest) or {0}:@N", path.display()),
                choices: choices(&entries),
            });
        }
        ArchiveSelection::Index(index) => (index < entries.len()).then_some(index),
        ArchiveSelection::Reference(wanted) => {
            let tags = |e: &ArchiveManifestEntry| e.repo_tags.clone().unwrap_or_default();
            // A whole reference first (`app` is `app:latest`), then a bare tag (`2`).
            let by_reference = entries
                .iter()
                .position(|e| tags(e).iter().any(|t| same_reference(t, wanted)));
            by_reference.or_else(|| {
                entries
                    .iter()
                    .position(|e| tags(e).iter().any(|t| tag_matches(t, wanted)))
            })
        }
    };
    match found {
        Some(index) => Ok(entries.swap_remove(index)),
        None => Err(SourceError::TagNotFound {
            what: what.to_owned(),
            tag: selection_text(selection),
            available: choices(&entries),
        }),
    }
}

fn selection_text(selection: ArchiveSelection<'_>) -> String {
    match selection {
        ArchiveSelection::Only => String::new(),
        ArchiveSelection::Index(index) => format!("@{index}"),
        ArchiveSelection::Reference(reference) => reference.to_owned(),
    }
}

/// `app:1` names the same image as `docker.io/library/app:1`; `app` is `app:latest`.
fn same_reference(repo_tag: &str, wanted: &str) -> bool {
    fn normal(reference: &str) -> String {
        let short = reference.strip_prefix("docker.io/").unwrap_or(reference);
        let short = short.strip_prefix("library/").unwrap_or(short);
        let name_end = short.rfind('/').map_or(0, |i| i + 1);
        if short[name_end..].contains(':') || short.contains('@') {
            short.to_owned()
        } else {
            format!("{short}:latest")
        }
    }
    normal(repo_tag) == normal(wanted)
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
    let mut skipped = Vec::new();
    let roots = select_tagged(index.into_manifests(), local.tag.as_deref(), &index_what, &mut skipped)?;
    let found = IndexRoots {
        roots,
        what: index_what,
        skipped,
        partial: false,
    };
    let source = SourceInfo {
        kind,
        location: local.path.display().to_string(),
        tag: local.tag.clone(),
        platform: Platform::unknown(),
    };
    open_index_roots(files, found, source, platform)
}

/// Where an image's manifests start in a directory of blobs (`blobs/sha256/...`).
pub(crate) struct IndexRoots {
    /// The descriptors to start from: an OCI layout's `index.json` entries, a containerd
    /// image's target.
    pub roots: Vec<Descriptor>,
    /// Names where the roots came from, in messages.
    pub what: String,
    skipped: Vec<Skipped>,
    /// Whether the directory may hold only some platforms of an index (a content store
    /// after a pull or import of one platform): a platform's manifest that is absent is
    /// then listed but not read.
    pub partial: bool,
}

impl IndexRoots {
    pub(crate) fn new(roots: Vec<Descriptor>, what: String, partial: bool) -> Self {
        IndexRoots {
            roots,
            what,
            skipped: Vec::new(),
            partial,
        }
    }
}

/// Opens the image the roots lead to, choosing `platform` among an index's manifests;
/// `source` gives the kind, location and tag (`None`: the chosen manifest's ref name) of
/// the result.
pub(crate) fn open_index_roots(
    files: SourceFiles,
    found: IndexRoots,
    mut source: SourceInfo,
    platform: Option<&Platform>,
) -> Result<Image, SourceError> {
    let IndexRoots {
        roots,
        what: index_what,
        mut skipped,
        partial,
    } = found;
    let mut absent = Vec::new();
    let candidates = collect_manifests(&files, roots, 0, &mut skipped, partial.then_some(&mut absent))?;
    let chosen = choose_platform(&files, candidates, platform, &index_what, &skipped, &absent)?;

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
        let size = files
            .size(&member)
            .ok_or_else(|| missing_layer(&location, Some(descriptor)))?;
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
    let notes = skipped
        .iter()
        .map(|s| format!("{}: skipped {}", files.describe(&blob_path(&s.digest)), s.what))
        .collect();
    source.tag = source.tag.or(chosen.ref_name);
    source.platform = config.platform();
    Ok(Image {
        source,
        manifest_digest: Some(chosen.descriptor.digest().clone()),
        config_digest: Some(config_descriptor.digest().clone()),
        config,
        layers,
        store: BlobStore::Local { files, notes },
    })
}

/// An entry of an index that is not read as an image, and what it is.
struct Skipped {
    digest: Digest,
    what: String,
}

/// The roots with the wanted tag; without one, every root, except untagged roots of an
/// index that also has tagged ones (containerd and skopeo leave such entries behind).
fn select_tagged(
    roots: Vec<Descriptor>,
    tag: Option<&str>,
    what: &str,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<Descriptor>, SourceError> {
    let Some(tag) = tag else {
        if roots.iter().all(|d| d.ref_name().is_none()) {
            return Ok(roots);
        }
        let (tagged, untagged): (Vec<Descriptor>, Vec<Descriptor>) =
            roots.into_iter().partition(|d| d.ref_name().is_some());
        skipped.extend(untagged.into_iter().map(|d| Skipped {
            digest: d.digest().clone(),
            what: "(an untagged entry of an index with tagged images)".to_owned(),
        }));
        return Ok(tagged);
    };
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

/// A platform's manifest an index names but a partial store does not hold.
struct Absent {
    descriptor: Descriptor,
    platform: Platform,
}

/// Walks (nested) indexes down to image manifests; what is not an image (artifacts,
/// attestations, media types imgprof does not know) goes to `skipped`. With `absent`
/// (a partial store), a platform's manifest missing from the store goes there.
fn collect_manifests(
    files: &SourceFiles,
    roots: Vec<Descriptor>,
    depth: usize,
    skipped: &mut Vec<Skipped>,
    mut absent: Option<&mut Vec<Absent>>,
) -> Result<Vec<Candidate>, SourceError> {
    let mut out = Vec::new();
    for descriptor in roots {
        let what = files.describe(&blob_path(descriptor.digest()));
        if depth > MAX_INDEX_DEPTH {
            return Err(SourceError::invalid(
                what,
                format!("indexes nested deeper than {MAX_INDEX_DEPTH}"),
            ));
        }
        let skip = |what: String| Skipped {
            digest: descriptor.digest().clone(),
            what,
        };
        if descriptor.attestation_of().is_some() {
            skipped.push(skip(format!(
                "(an attestation manifest, {REFERENCE_TYPE_ANNOTATION}: {ATTESTATION_MANIFEST})"
            )));
            continue;
        }
        let media_type = descriptor.media_type();
        let known = media_type::is_index(media_type) || media_type::is_manifest(media_type);
        if !known && !media_type.is_empty() {
            let artifact = descriptor
                .artifact_type()
                .map(|t| format!(", artifactType {t}"))
                .unwrap_or_default();
            skipped.push(skip(format!(
                "(media type {media_type}{artifact}: neither an image manifest nor an index)"
            )));
            continue;
        }
        if let (Some(absent), Some(platform)) = (absent.as_deref_mut(), descriptor.platform())
            && !files.contains(&blob_path(descriptor.digest()))
        {
            absent.push(Absent {
                platform: platform.clone(),
                descriptor,
            });
            continue;
        }
        // A descriptor without a media type: the document says what it is.
        let (bytes, blob_what) = read_verified(files, &descriptor)?;
        let is_index = match media_type {
            "" => serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|source| SourceError::Json {
                    what: blob_what.clone(),
                    source,
                })?
                .get("manifests")
                .is_some(),
            media_type => media_type::is_index(media_type),
        };
        if is_index {
            let index: ImageIndex = parse_json(&bytes, &blob_what)?;
            let mut nested =
                collect_manifests(files, index.into_manifests(), depth + 1, skipped, absent.as_deref_mut())?;
            for candidate in &mut nested {
                candidate.ref_name = candidate
                    .ref_name
                    .take()
                    .or_else(|| descriptor.ref_name().map(str::to_owned));
            }
            out.extend(nested);
            continue;
        }
        let manifest: ImageManifest = parse_json(&bytes, &blob_what)?;
        if let Some(artifact) = artifact_kind(&manifest) {
            skipped.push(skip(format!("({artifact}, not a container image)")));
            continue;
        }
        out.push(Candidate {
            platform: descriptor.platform().cloned(),
            ref_name: descriptor.ref_name().map(str::to_owned),
            descriptor,
            manifest,
        });
    }
    Ok(out)
}

/// What a manifest is when it is not a container image: its config media type (Helm
/// charts, OCI 1.1 artifacts with the empty config) or its `artifactType`; `None` for an
/// image.
pub(crate) fn artifact_kind(manifest: &ImageManifest) -> Option<String> {
    let config = manifest.config().media_type();
    let artifact_type = manifest.artifact_type();
    let image_config = [media_type::OCI_CONFIG, media_type::DOCKER_CONFIG, ""].contains(&config);
    let in_toto = !manifest.layers().is_empty()
        && manifest
            .layers()
            .iter()
            .all(|l| l.media_type() == "application/vnd.in-toto+json");
    if image_config && artifact_type.is_none() && !in_toto {
        return None;
    }
    let kind = artifact_type.as_deref().unwrap_or(config);
    let name = [
        ("helm", "a Helm chart"),
        ("in-toto", "an attestation"),
        ("spdx", "an SBOM"),
        ("cyclonedx", "an SBOM"),
        ("sigstore", "a signature"),
        ("cosign", "a signature"),
        ("wasm", "a WebAssembly module"),
    ]
    .iter()
    .find(|(needle, _)| kind.contains(needle) || (in_toto && *needle == "in-toto"))
    .map_or("an artifact", |(_, name)| name);
    Some(match artifact_type {
        Some(artifact_type) => format!("{name}: artifactType {artifact_type}, config media type {config}"),
        None => format!("{name}: config media type {config}"),
    })
}

/// Picks the manifest for the wanted platform (the host's by default); a lone image is
/// taken as is unless a platform was asked for explicitly.
fn choose_platform(
    files: &SourceFiles,
    candidates: Vec<Candidate>,
    wanted: Option<&Platform>,
    what: &str,
    skipped: &[Skipped],
    absent: &[Absent],
) -> Result<Candidate, SourceError> {
    let mut candidates: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| !c.platform.as_ref().is_some_and(Platform::is_unknown))
        .collect();
    if candidates.is_empty() && absent.is_empty() {
        return Err(no_image(what, skipped));
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
    // The store knows the platform but does not hold its manifest.
    if matching.is_empty()
        && let Some(missing) = absent.iter().find(|a| a.platform.satisfies(&target))
    {
        return Err(SourceError::MissingFile {
            location: files.describe(&blob_path(missing.descriptor.digest())),
        });
    }
    match matching.as_slice() {
        [] => Err(SourceError::PlatformNotFound {
            what: what.to_owned(),
            wanted: target.to_string(),
            available: describe_platforms(&candidates, absent),
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

/// The error for an index that leads to no image: what it holds instead, when it holds
/// artifacts, attestations or other documents.
fn no_image(what: &str, skipped: &[Skipped]) -> SourceError {
    if skipped.is_empty() {
        return SourceError::invalid(what, "contains no image manifest");
    }
    let found: Vec<String> = skipped.iter().map(|s| format!("{} {}", s.digest, s.what)).collect();
    SourceError::NotAContainerImage {
        what: what.to_owned(),
        found: found.join("; "),
    }
}

fn describe_platforms(candidates: &[Candidate], absent: &[Absent]) -> String {
    let names: Vec<String> = candidates
        .iter()
        .map(|c| {
            c.platform
                .as_ref()
                .map_or_else(|| "(unknown)".to_owned(), Platform::to_string)
        })
        .chain(absent.iter().map(|a| format!("{} (not in the store)", a.platform)))
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
    let mut skipped = Vec::new();
    let roots = select_tagged(index.into_manifests(), local.tag.as_deref(), &index_what, &mut skipped)?;
    list_index_platforms(
        &files,
        IndexRoots {
            roots,
            what: index_what,
            skipped,
            partial: false,
        },
    )
}

/// The platforms the roots lead to; in a partial store, those whose manifest is absent
/// too.
pub(crate) fn list_index_platforms(files: &SourceFiles, found: IndexRoots) -> Result<Vec<PlatformEntry>, SourceError> {
    let IndexRoots {
        roots,
        what,
        mut skipped,
        partial,
    } = found;
    let mut absent = Vec::new();
    let candidates = collect_manifests(files, roots, 0, &mut skipped, partial.then_some(&mut absent))?;
    if candidates.is_empty() && absent.is_empty() {
        // As `open` says it: a layout of artifacts only is not a container image.
        return Err(no_image(&what, &skipped));
    }
    let mut entries = Vec::new();
    for candidate in candidates {
        let platform = match candidate.platform {
            Some(p) => p,
            None => read_verified_json::<ImageConfig>(files, candidate.manifest.config())?.platform(),
        };
        entries.push(PlatformEntry::of_descriptor(
            &candidate.descriptor,
            platform,
            candidate.ref_name,
        ));
    }
    for missing in absent {
        let mut entry = PlatformEntry::of_descriptor(&missing.descriptor, missing.platform, None);
        if entry.kind == EntryKind::Image {
            entry.kind = EntryKind::Absent;
        }
        entries.push(entry);
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
    fn archive_references_follow_skopeo() {
        assert!(same_reference("docker.io/library/app:2", "app:2"));
        assert!(same_reference("app:latest", "app"));
        assert!(!same_reference("app:2", "app"));
        assert!(same_reference("localhost:5000/app:latest", "localhost:5000/app"));
        assert_eq!(ArchiveSelection::of(Some("@1")), ArchiveSelection::Index(1));
        assert_eq!(
            ArchiveSelection::of(Some("app:2")),
            ArchiveSelection::Reference("app:2")
        );
        assert_eq!(ArchiveSelection::of(None), ArchiveSelection::Only);
        assert!(is_selection("app:2") && is_selection("@0") && !is_selection("5000/app"));
    }

    fn entry(tags: &[&str]) -> ArchiveManifestEntry {
        serde_json::from_value(serde_json::json!({"Config": "c.json", "RepoTags": tags, "Layers": []}))
            .expect("a valid entry")
    }

    #[test]
    fn multi_image_archives_need_a_choice_that_names_one() {
        let entries = || vec![entry(&["app:1"]), entry(&["app:2", "app:latest"]), entry(&[])];
        let path = Path::new("multi.tar");
        let pick = |selection| select_archive_entry(entries(), selection, "multi.tar:manifest.json", path);
        let tags = |e: ArchiveManifestEntry| e.repo_tags.unwrap_or_default();
        assert_eq!(
            tags(pick(ArchiveSelection::Reference("app:2")).unwrap()),
            ["app:2", "app:latest"]
        );
        assert_eq!(
            tags(pick(ArchiveSelection::Reference("app")).unwrap()),
            ["app:2", "app:latest"]
        );
        assert_eq!(tags(pick(ArchiveSelection::Reference("1")).unwrap()), ["app:1"]);
        assert!(tags(pick(ArchiveSelection::Index(2)).unwrap()).is_empty());
        let none = pick(ArchiveSelection::Only).unwrap_err().to_string();
        assert_eq!(
            none,
            "multi.tar:manifest.json: holds 3 images; choose one with multi.tar:NAME:TAG, \
             multi.tar:NAME (for NAME:latest) or multi.tar:@N; available: app:1 (@0); \
             app:2, app:latest (@1); @2 (untagged)"
        );
        let missing = pick(ArchiveSelection::Index(3)).unwrap_err().to_string();
        assert!(missing.contains("\"@3\""), "{missing}");
    }

    #[test]
    fn artifacts_say_what_they_are() {
        let manifest = |config: &str, artifact: Option<&str>| {
            let mut m = serde_json::json!({"schemaVersion": 2, "config": {"mediaType": config,
                "digest": format!("sha256:{}", "a".repeat(64)), "size": 2}, "layers": []});
            if let Some(a) = artifact {
                m["artifactType"] = a.into();
            }
            serde_json::from_value::<ImageManifest>(m).expect("a manifest")
        };
        assert_eq!(artifact_kind(&manifest(media_type::OCI_CONFIG, None)), None);
        assert_eq!(
            artifact_kind(&manifest("application/vnd.cncf.helm.config.v1+json", None)).as_deref(),
            Some("a Helm chart: config media type application/vnd.cncf.helm.config.v1+json")
        );
        let sbom = artifact_kind(&manifest(
            "application/vnd.oci.empty.v1+json",
            Some("application/spdx+json"),
        ));
        assert_eq!(
            sbom.as_deref(),
            Some("an SBOM: artifactType application/spdx+json, config media type application/vnd.oci.empty.v1+json")
        );
    }

    #[test]
    fn member_digests() {
        let hex = "a".repeat(64);
        assert!(digest_from_member_name(&format!("{hex}.json")).is_some());
        assert!(digest_from_member_name(&format!("blobs/sha256/{hex}")).is_some());
        assert!(digest_from_member_name("abc/layer.tar").is_none());
    }
}
