//! Image sources for imgprof.
//!
//! Turns what the user typed (`app.tar`, `./layout:tag`, `oci-archive:img.tar`) into an
//! [`Image`]: the parsed config, the ordered layer blobs with the digests they must match,
//! and a way to stream each blob. Nothing here decompresses or walks layers; that is
//! `imgprof-layers`' job.

mod blob_file;
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
pub use local::{LocalRef, PlatformEntry};
pub use platform::{Platform, PlatformParseError};
use spec::ImageConfig;

/// Which kind of source an image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    DockerArchive,
    OciLayout,
    OciArchive,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::DockerArchive => "docker-archive",
            SourceKind::OciLayout => "oci-layout",
            SourceKind::OciArchive => "oci-archive",
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

/// An opened image: config, manifest facts and streamable layers.
#[derive(Debug)]
pub struct Image {
    pub source: SourceInfo,
    pub manifest_digest: Option<Digest>,
    pub config_digest: Option<Digest>,
    pub config: ImageConfig,
    pub layers: Vec<LayerBlob>,
    files: SourceFiles,
}

impl Image {
    /// Opens the stored bytes of a layer blob for streaming. Each call is independent, so
    /// several layers can be read at once from different threads.
    pub fn open_layer(&self, layer: &LayerBlob) -> Result<Box<dyn Read + Send>, SourceError> {
        self.files.open_file(&layer.member)
    }

    /// The layer blob as a local file region, which allows reading it from several
    /// threads at once and seeking. Every local source can provide it.
    pub fn layer_file(&self, layer: &LayerBlob) -> Result<BlobFile, SourceError> {
        self.files.blob_file(&layer.member)
    }
}

/// Opens an image from a local path argument, choosing `platform` from multi-platform
/// indexes (the host's when `None`, or the only image when there is one).
pub fn open(arg: &str, platform: Option<&Platform>) -> Result<Image, SourceError> {
    local::open_local(&parse_local(arg)?, platform)
}

/// Lists the platforms a source offers.
pub fn platforms(arg: &str) -> Result<Vec<PlatformEntry>, SourceError> {
    local::list_platforms(&parse_local(arg)?)
}

fn parse_local(arg: &str) -> Result<LocalRef, SourceError> {
    if let Some(local) = LocalRef::parse(arg) {
        return Ok(local);
    }
    match arg.parse::<reference::Reference>() {
        Ok(reference) if !LocalRef::looks_like_path(arg) => Err(SourceError::invalid(
            arg,
            format!(
                "no such file, and reading {reference} from its registry is not supported yet; \
                 save it first (`skopeo copy docker://{reference} docker-archive:image.tar`)"
            ),
        )),
        _ => Err(SourceError::NotFound {
            location: arg.to_owned(),
        }),
    }
}
