use std::io;
use std::path::Path;

use crate::digest::DigestError;

/// Everything that can go wrong while opening an image source. Each variant names the
/// file, blob or reference involved so the message stands on its own.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{location}: no such file or directory")]
    NotFound { location: String },
    #[error("{location}: not an image: {reason}")]
    NotAnImage { location: String, reason: String },
    #[error("{location}: cannot read")]
    Io {
        location: String,
        #[source]
        source: io::Error,
    },
    #[error("{location}: missing from the image")]
    MissingFile { location: String },
    #[error("{what}: invalid JSON")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("{what}")]
    Digest {
        what: String,
        #[source]
        source: DigestError,
    },
    #[error("{what}: content does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{what}: no image for platform {wanted}; available: {available}")]
    PlatformNotFound {
        what: String,
        wanted: String,
        available: String,
    },
    #[error("{what}: several images match; choose one with {hint}: {choices}")]
    Ambiguous {
        what: String,
        hint: String,
        choices: String,
    },
    #[error("{what}: holds {count} images; choose one with {hint}; available: {choices}")]
    ChooseImage {
        what: String,
        count: usize,
        hint: String,
        choices: String,
    },
    #[error("cannot connect to {engine} at {endpoint}: is it running? ({hint})")]
    DaemonUnreachable {
        engine: String,
        endpoint: String,
        hint: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{image}: no such image at {endpoint} ({message}); `{cli} images` lists what it has, \
         `{cli} pull` or `{cli} load` adds it"
    )]
    DaemonImageNotFound {
        image: String,
        endpoint: String,
        message: String,
        cli: String,
    },
    #[error("{path}: cannot read containerd's store: {reason}; {hint}")]
    ContainerdStore { path: String, reason: String, hint: String },
    #[error("{path}: containerd's metadata database is damaged or not one")]
    ContainerdDatabase {
        path: String,
        #[source]
        source: crate::containerd::BoltError,
    },
    #[error(
        "containerd has no namespace {namespace:?} at {root}; namespaces: {available} \
         (set CONTAINERD_NAMESPACE)"
    )]
    ContainerdNamespaceNotFound {
        namespace: String,
        root: String,
        available: String,
    },
    #[error(
        "{image}: no such image in containerd namespace {namespace:?} at {root}; it has: {available} \
         (`ctr -n {namespace} images ls` lists them, `ctr images pull` or `import` adds one)"
    )]
    ContainerdImageNotFound {
        image: String,
        namespace: String,
        root: String,
        available: String,
    },
    #[error("{location}: missing from containerd's content store (needed by image {image}); {hint}")]
    ContainerdBlobMissing {
        location: String,
        image: String,
        hint: String,
    },
    /// An OCI layout or index that holds only artifacts (Helm charts, SBOMs, signatures).
    #[error(
        "{what}: not a container image: it holds {found}; imgprof reads container images \
         (config media type application/vnd.oci.image.config.v1+json or \
         application/vnd.docker.container.image.v1+json)"
    )]
    NotAContainerImage { what: String, found: String },
    /// A foreign (Windows base) or non-distributable layer whose blob the source does not
    /// hold: its descriptor says where it is published instead.
    #[error(
        "{location}: missing: a foreign (non-distributable) layer, media type {media_type}, \
         which is published at {urls} rather than stored in the image; imgprof does not fetch \
         it: put the blob there (e.g. copy the image with a tool that fetches foreign layers) \
         to read the image"
    )]
    ForeignLayerAbsent {
        location: String,
        media_type: String,
        urls: String,
    },
    #[error("{what}: no image tagged {tag:?}; available: {available}")]
    TagNotFound {
        what: String,
        tag: String,
        available: String,
    },
}

impl SourceError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            return SourceError::NotFound {
                location: path.display().to_string(),
            };
        }
        SourceError::Io {
            location: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn not_an_image(path: &Path, reason: impl Into<String>) -> Self {
        SourceError::NotAnImage {
            location: path.display().to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        SourceError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
