//! Image sources for imgprof.
//!
//! Turns what the user typed (`app.tar`, `./layout:tag`, `oci-archive:img.tar`,
//! `localhost:5000/app:1`, `podman:app`, `containerd:app`) into an [`Image`]: the parsed config, the ordered
//! layer blobs with the digests they must match, and a way to stream each blob. Nothing here decompresses or walks layers; that is
//! `imgprof-layers`' job.

mod blob_file;
pub mod containerd;
pub mod daemon;
mod digest;
mod error;
mod files;
pub mod history;
mod local;
mod platform;
pub mod reference;
pub mod registry;
pub mod spec;

use std::fmt;
use std::io::Read;

use serde::Serialize;

pub use blob_file::{BlobFile, BlobFileReader};
pub use digest::{Digest, DigestError};
pub use error::SourceError;
use files::SourceFiles;
pub use local::LocalRef;
pub use platform::{EntryKind, Platform, PlatformEntry, PlatformParseError};
pub use registry::{RegistryOptions, RetryPolicy};
use spec::ImageConfig;

/// Which kind of source an image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    DockerArchive,
    OciLayout,
    OciArchive,
    Registry,
    /// Exported by a Docker Engine (`docker-daemon:NAME`).
    DockerDaemon,
    /// Exported by podman's API service (`podman:NAME`).
    Podman,
    /// Read from containerd's image and content stores (`containerd:NAME`).
    Containerd,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::DockerArchive => "docker-archive",
            SourceKind::OciLayout => "oci-layout",
            SourceKind::OciArchive => "oci-archive",
            SourceKind::Registry => "registry",
            SourceKind::DockerDaemon => "docker-daemon",
            SourceKind::Podman => "podman",
            SourceKind::Containerd => "containerd",
        })
    }
}

/// Where an image came from, for the report header.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub kind: SourceKind,
    pub location: String,
    pub tag: Option<String>,
    pub platform: Platform,
}

/// One layer blob of an image, in stacking order (index 0 is the base).
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub index: usize,
    /// The digest of the blob as stored, when the source records one (OCI descriptors,
    /// Docker 25+ `blobs/sha256/...`). Classic `docker save` layers only have a diff_id.
    pub digest: Option<Digest>,
    /// The digest of the uncompressed tar stream, from the config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    pub media_type: Option<String>,
    /// Bytes of the blob as stored (compressed, if it is).
    pub size: u64,
    pub urls: Vec<String>,
    /// Names the blob in messages (`app.tar:blobs/sha256/...`).
    pub location: String,
    member: String,
}

impl LayerBlob {
    /// Where the blob is inside its source: a docker-archive's member name
    /// (`<id>/layer.tar`, `blobs/sha256/<hex>`), a layout's `blobs/sha256/<hex>`.
    pub fn member(&self) -> &str {
        &self.member
    }
}

/// An opened image: config, manifest facts and streamable layers.
#[derive(Debug)]
pub struct Image {
    pub source: SourceInfo,
    pub manifest_digest: Option<Digest>,
    pub config_digest: Option<Digest>,
    pub config: ImageConfig,
    pub layers: Vec<LayerBlob>,
    store: BlobStore,
}

/// Where an image's blobs are read from.
#[derive(Debug)]
pub(crate) enum BlobStore {
    /// A local file or directory, and what its opener skipped there.
    Local {
        files: SourceFiles,
        notes: Vec<String>,
    },
    Registry(registry::client::RegistryClient),
}

impl Image {
    /// Opens the stored bytes of a layer blob for streaming. Each call is independent, so
    /// several layers can be read at once from different threads.
    pub fn open_layer(&self, layer: &LayerBlob) -> Result<Box<dyn Read + Send>, SourceError> {
        match &self.store {
            BlobStore::Local { files, .. } => files.open_file(&layer.member),
            BlobStore::Registry(client) => match &layer.digest {
                Some(digest) => client.blob_stream(digest, layer.size),
                None => Err(SourceError::invalid(
                    &layer.location,
                    "a registry layer without a digest",
                )),
            },
        }
    }

    /// What the opener skipped, one line each (an OCI index's artifacts, attestations,
    /// untagged entries), for the user to see as warnings; the image is read without them.
    pub fn notes(&self) -> &[String] {
        match &self.store {
            BlobStore::Local { notes, .. } => notes,
            BlobStore::Registry(_) => &[],
        }
    }

    /// The layer blob as a local file region, which allows reading it from several
    /// threads at once and seeking; `None` for blobs that only stream (registries).
    pub fn layer_file(&self, layer: &LayerBlob) -> Result<Option<BlobFile>, SourceError> {
        match &self.store {
            BlobStore::Local { files, .. } => files.blob_file(&layer.member).map(Some),
            BlobStore::Registry(_) => Ok(None),
        }
    }
}

/// Opens an image from a local path argument, choosing `platform` from multi-platform
/// indexes (the host's when `None`, or the only image when there is one).
pub fn open(arg: &str, platform: Option<&Platform>) -> Result<Image, SourceError> {
    open_with(arg, platform, &RegistryOptions::default())
}

/// [`open`] with the given way of talking to registries.
pub fn open_with(arg: &str, platform: Option<&Platform>, registry: &RegistryOptions) -> Result<Image, SourceError> {
    match parse_source(arg)? {
        Source::Local(local) => local::open_local(&local, platform),
        Source::Registry(reference) => registry::open::open_registry(reference, platform, registry),
        Source::Daemon(daemon) => daemon::open_daemon(&daemon, platform),
        Source::Containerd(image) => containerd::open_containerd(&image, platform),
    }
}

/// Lists the platforms a source offers.
pub fn platforms(arg: &str, registry: &RegistryOptions) -> Result<Vec<PlatformEntry>, SourceError> {
    match parse_source(arg)? {
        Source::Local(local) => local::list_platforms(&local),
        Source::Registry(reference) => registry::open::list_platforms(reference, registry),
        Source::Daemon(daemon) => daemon::list_platforms(&daemon),
        Source::Containerd(image) => containerd::list_platforms(&image),
    }
}

/// An engine prefix (`docker-daemon:`, `podman:`, `containerd:`) first; then a local path
/// wins when it exists; otherwise a registry reference, refused when it carries credentials.
fn parse_source(arg: &str) -> Result<Source, SourceError> {
    if let Some(image) = containerd::ContainerdRef::parse(arg) {
        return Ok(Source::Containerd(image?));
    }
    if let Some(daemon) = daemon::DaemonRef::parse(arg) {
        return Ok(Source::Daemon(daemon?));
    }
    if let Some(local) = LocalRef::parse(arg) {
        return Ok(Source::Local(local));
    }
    if LocalRef::looks_like_path(arg) {
        return Err(SourceError::NotFound {
            location: arg.to_owned(),
        });
    }
    registry::refuse_credentials_in_reference(arg)?;
    let reference = arg
        .parse::<reference::Reference>()
        .map_err(|e| SourceError::invalid(arg, e.reason))?;
    Ok(Source::Registry(reference))
}

/// Internal checks re-exported for the fuzz targets in `fuzz/`; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::spec::{ImageConfig, ImageManifest};
    use crate::{Platform, SourceError};

    /// The checks an opener applies to a parsed manifest and its config.
    pub fn check_manifest(
        manifest: &ImageManifest,
        config: &ImageConfig,
        platform: Option<&Platform>,
    ) -> Result<(), SourceError> {
        crate::local::check_manifest(manifest, config, platform, "config", "manifest", "index")
    }
}

enum Source {
    Local(LocalRef),
    Registry(reference::Reference),
    Daemon(daemon::DaemonRef),
    Containerd(containerd::ContainerdRef),
}
