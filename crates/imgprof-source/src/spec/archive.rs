//! `docker save`'s `manifest.json`: Docker's own format, not an OCI document, so it has no
//! oci-spec type.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Descriptor;
use crate::digest::Digest;

/// One entry of `docker save`'s `manifest.json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveManifestEntry {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
    /// Written by Docker 25+ and skopeo for layers it knows descriptors of.
    #[serde(default)]
    pub layer_sources: Option<BTreeMap<Digest, Descriptor>>,
}
