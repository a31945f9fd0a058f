use std::io;

use imgprof_source::Digest;

/// A layer that could not be analysed. Each variant names the blob, so no analysis from
/// it is ever mistaken for a complete one.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("{location}: cannot read the {stage} stream")]
    Read {
        location: String,
        stage: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{location}: {what} mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        location: String,
        what: &'static str,
        expected: Digest,
        actual: Digest,
    },
    #[error(
        "{location}: the {stage} stream expands past {limit} bytes, the limit for a blob of {stored} bytes: \
         a decompression bomb, or a layer of unusually compressible files"
    )]
    ExpansionLimit {
        location: String,
        stage: &'static str,
        limit: u64,
        stored: u64,
    },
    #[error("{location}: tar entry {path:?}: {reason}")]
    BadEntry {
        location: String,
        path: String,
        reason: String,
    },
}
