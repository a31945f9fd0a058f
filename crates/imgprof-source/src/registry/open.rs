//! Opening an image from a registry: the manifest (through indexes, choosing the
//! platform), the config, and layer blobs streamed on demand.

use crate::digest::Digest;
use crate::error::SourceError;
use crate::local::{check_manifest, parse_json};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::registry::client::{RegistryClient, RegistryOptions};
use crate::spec::{ImageConfig, ImageIndex, ImageManifest, media_type};
use crate::{BlobStore, EntryKind, Image, LayerBlob, PlatformEntry, SourceInfo, SourceKind};

const MAX_INDEX_DEPTH: usize = 8;

pub(crate) fn open_registry(
    reference: Reference,
    platform: Option<&Platform>,
    options: &RegistryOptions,
) -> Result<Image, SourceError> {
    let what = reference.to_string();
    let client = RegistryClient::new(reference.clone(), options.clone())?;
    let (bytes, media, digest) = client.manifest(&reference.manifest_reference())?;
    let (manifest_digest, manifest) = resolve(&client, bytes, &media, digest, platform, &what, 0)?;
    // A Helm chart, an SBOM or a signature: its config is not an image config.
    if let Some(artifact) = crate::local::artifact_kind(&manifest) {
        return Err(SourceError::NotAContainerImage {
            what,
            found: format!("{manifest_digest} ({artifact}, not a container image)"),
        });
    }
    let config_what = format!("{what} config {}", manifest.config().digest());
    let config: ImageConfig = parse_json(&client.small_blob(manifest.config().digest())?, &config_what)?;
    check_manifest(&manifest, &config, platform, &config_what, &what, &what)?;
    let layers = manifest
        .layers()
        .iter()
        .enumerate()
        .map(|(index, d)| LayerBlob {
            index,
            digest: Some(d.digest().clone()),
            diff_id: config.diff_ids()[index].clone(),
            media_type: Some(d.media_type().to_owned()),
            size: d.size(),
            urls: d.urls().to_vec(),
            location: format!("{}/{}@{}", reference.registry, reference.repository, d.digest()),
            member: d.digest().to_string(),
        })
        .collect();
    Ok(Image {
        source: SourceInfo {
            kind: SourceKind::Registry,
            location: what,
            tag: reference.tag.clone(),
            platform: config.platform(),
        },
        manifest_digest: Some(manifest_digest),
        config_digest: Some(manifest.config().digest().clone()),
        config,
        layers,
        store: BlobStore::Registry(client),
    })
}

/// Follows (nested) indexes to the image manifest for the wanted platform (the host's by
/// default; a lone image is taken as is unless a platform was asked for).
fn resolve(
    client: &RegistryClient,
    bytes: Vec<u8>,
    media: &str,
    digest: Digest,
    wanted: Option<&Platform>,
    what: &str,
    depth: usize,
) -> Result<(Digest, ImageManifest), SourceError> {
    if media_type::is_manifest(media) {
        return Ok((digest, parse_json(&bytes, what)?));
    }
    if !media_type::is_index(media) {
        return Err(SourceError::invalid(
            what,
            format!("unsupported manifest media type {media:?}"),
        ));
    }
    if depth >= MAX_INDEX_DEPTH {
        return Err(SourceError::invalid(
            what,
            format!("indexes nested deeper than {MAX_INDEX_DEPTH}"),
        ));
    }
    let index: ImageIndex = parse_json(&bytes, what)?;
    let candidates: Vec<_> = index
        .manifests()
        .iter()
        .filter(|d| d.attestation_of().is_none() && !d.platform().is_some_and(Platform::is_unknown))
        .collect();
    let chosen = if candidates.len() == 1 && wanted.is_none() {
        candidates[0]
    } else {
        let target = wanted.cloned().unwrap_or_else(Platform::host);
        match candidates
            .iter()
            .find(|d| d.platform().is_some_and(|p| p.satisfies(&target)))
        {
            Some(d) => *d,
            None => {
                let available: Vec<String> = candidates
                    .iter()
                    .map(|d| d.platform().map_or_else(|| "(unknown)".to_owned(), Platform::to_string))
                    .collect();
                return Err(SourceError::PlatformNotFound {
                    what: what.to_owned(),
                    wanted: target.to_string(),
                    available: available.join(", "),
                });
            }
        }
    };
    let (bytes, media, digest) = client.manifest(&chosen.digest().to_string())?;
    let media = if media.is_empty() {
        chosen.media_type().to_owned()
    } else {
        media
    };
    resolve(client, bytes, &media, digest, wanted, what, depth + 1)
}

/// What a registry reference offers: each image of its index (or the one image), with
/// the compressed size its manifest gives. One client serves the index and every
/// manifest; attestation manifests are labelled and not fetched.
pub(crate) fn list_platforms(
    reference: Reference,
    options: &RegistryOptions,
) -> Result<Vec<PlatformEntry>, SourceError> {
    let what = reference.to_string();
    let client = RegistryClient::new(reference.clone(), options.clone())?;
    let (bytes, media, digest) = client.manifest(&reference.manifest_reference())?;
    let compressed = |manifest: &ImageManifest| manifest.layers().iter().map(|l| l.size()).sum::<u64>();
    if media_type::is_index(&media) {
        let index: ImageIndex = parse_json(&bytes, &what)?;
        let mut entries = Vec::new();
        for descriptor in index.manifests() {
            let platform = descriptor.platform().cloned().unwrap_or_else(Platform::unknown);
            let mut entry = PlatformEntry::of_descriptor(descriptor, platform, reference.tag.clone());
            if entry.kind == EntryKind::Image && media_type::is_manifest(descriptor.media_type()) {
                let digest = descriptor.digest().to_string();
                let (bytes, _, _) = client.manifest(&digest)?;
                let manifest: ImageManifest = parse_json(&bytes, &format!("{what} manifest {digest}"))?;
                entry.compressed = Some(compressed(&manifest));
            }
            entries.push(entry);
        }
        return Ok(entries);
    }
    let manifest: ImageManifest = parse_json(&bytes, &what)?;
    let config: ImageConfig = parse_json(&client.small_blob(manifest.config().digest())?, &what)?;
    Ok(vec![PlatformEntry {
        compressed: Some(compressed(&manifest)),
        ..PlatformEntry::image(config.platform(), Some(digest), reference.tag)
    }])
}
