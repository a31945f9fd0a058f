//! The JSON documents an image is made of: OCI/Docker manifests and indexes and the image
//! config as `oci-spec`'s types, and `docker save`'s `manifest.json`
//! ([`ArchiveManifestEntry`], Docker's own format).
//!
//! oci-spec's model is stricter than the images imgprof opens, so each document is read
//! through a [`serde_json::Value`] and converted at this boundary rather than forked:
//! - what real images leave out or write loosely is filled in before oci-spec reads it: an
//!   index's `schemaVersion`, a config's `architecture` and `os` (docker-archive configs
//!   from old engines and odd builders), `ExposedPorts`/`Volumes` values other than `{}`;
//! - what imgprof works with is read first into its own types, with its own errors:
//!   digests as [`Digest`] (sha256 only; oci-spec's takes any algorithm and its errors do
//!   not quote the digest), platforms as [`Platform`] with the strings as written
//!   (oci-spec's `Arch` reads `armbe` as `arm64be`).
//!
//! The rest (media types, sizes, urls, annotations, history, runtime settings) is
//! oci-spec's, through the accessors or `oci()`. A missing field imgprof needs is serde's
//! "missing field `rootfs`", worded as before (`expecting` names the whole document); an
//! error found once the JSON has parsed carries no line and column.

mod archive;

use std::sync::LazyLock;

use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::digest::Digest;
use crate::platform::Platform;

pub use archive::ArchiveManifestEntry;
/// oci-spec's image types, for callers that want a field imgprof does not convert.
pub use oci_spec::image as oci;
pub use oci_spec::image::{Config as RuntimeConfig, History};

pub mod media_type {
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

    pub fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
    }

    pub fn is_manifest(media_type: &str) -> bool {
        media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
    }
}

pub const REF_NAME_ANNOTATION: &str = oci::ANNOTATION_REF_NAME;

/// Reads `T` out of a document already parsed to JSON, as an error of the outer
/// deserializer.
fn parse<'de, D: Deserializer<'de>, T: DeserializeOwned>(value: &Value) -> Result<T, D::Error> {
    T::deserialize(value).map_err(de::Error::custom)
}

/// A content descriptor: what a manifest or index says about a blob.
#[derive(Clone, Debug)]
pub struct Descriptor {
    digest: Digest,
    platform: Option<Platform>,
    oci: oci::Descriptor,
}

/// What imgprof reads of a descriptor into its own types, before oci-spec reads it all.
#[derive(Deserialize)]
#[serde(expecting = "struct Descriptor")]
struct DescriptorFields {
    digest: Digest,
    #[serde(default)]
    platform: Option<Platform>,
}

impl<'de> Deserialize<'de> for Descriptor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let DescriptorFields { digest, platform } = parse::<D, _>(&value)?;
        Ok(Descriptor {
            digest,
            platform,
            oci: parse::<D, _>(&value)?,
        })
    }
}

impl Serialize for Descriptor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.oci.serialize(serializer)
    }
}

impl Descriptor {
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// As written; may be empty or one imgprof does not know.
    pub fn media_type(&self) -> &str {
        self.oci.media_type().as_ref()
    }

    pub fn size(&self) -> u64 {
        self.oci.size()
    }

    pub fn urls(&self) -> &[String] {
        self.oci.urls().as_deref().unwrap_or_default()
    }

    pub fn platform(&self) -> Option<&Platform> {
        self.platform.as_ref()
    }

    pub fn ref_name(&self) -> Option<&str> {
        self.oci
            .annotations()
            .as_ref()?
            .get(REF_NAME_ANNOTATION)
            .map(String::as_str)
    }

    pub fn oci(&self) -> &oci::Descriptor {
        &self.oci
    }
}

/// An OCI image index or a Docker manifest list.
#[derive(Clone, Debug)]
pub struct ImageIndex {
    manifests: Vec<Descriptor>,
    oci: oci::ImageIndex,
}

#[derive(Deserialize)]
#[serde(expecting = "struct ImageIndex")]
struct IndexFields {
    manifests: Vec<Descriptor>,
}

impl<'de> Deserialize<'de> for ImageIndex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        let IndexFields { manifests } = parse::<D, _>(&value)?;
        // oci-spec requires it; imgprof never did (it reads nothing from it), and an
        // index.json written by hand or by a small tool may leave it out.
        if let Some(index) = value.as_object_mut() {
            index.entry("schemaVersion").or_insert(Value::from(2));
        }
        Ok(ImageIndex {
            manifests,
            oci: parse::<D, _>(&value)?,
        })
    }
}

impl ImageIndex {
    pub fn manifests(&self) -> &[Descriptor] {
        &self.manifests
    }

    pub fn into_manifests(self) -> Vec<Descriptor> {
        self.manifests
    }

    pub fn oci(&self) -> &oci::ImageIndex {
        &self.oci
    }
}

/// An OCI image manifest or a Docker schema2 manifest.
#[derive(Clone, Debug)]
pub struct ImageManifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
    oci: oci::ImageManifest,
}

#[derive(Deserialize)]
#[serde(expecting = "struct ImageManifest")]
struct ManifestFields {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

impl<'de> Deserialize<'de> for ImageManifest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let ManifestFields { config, layers } = parse::<D, _>(&value)?;
        Ok(ImageManifest {
            config,
            layers,
            oci: parse::<D, _>(&value)?,
        })
    }
}

impl ImageManifest {
    pub fn config(&self) -> &Descriptor {
        &self.config
    }

    pub fn layers(&self) -> &[Descriptor] {
        &self.layers
    }

    pub fn oci(&self) -> &oci::ImageManifest {
        &self.oci
    }
}

/// The image configuration: runtime settings, root filesystem diff ids and history.
#[derive(Clone, Debug)]
pub struct ImageConfig {
    platform: Platform,
    diff_ids: Vec<Digest>,
    oci: oci::ImageConfiguration,
}

#[derive(Deserialize)]
#[serde(expecting = "struct ImageConfig")]
struct ConfigFields {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    rootfs: RootFsFields,
}

#[derive(Deserialize)]
#[serde(expecting = "struct RootFs")]
struct RootFsFields {
    diff_ids: Vec<Digest>,
}

impl<'de> Deserialize<'de> for ImageConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(deserializer)?;
        let fields: ConfigFields = parse::<D, _>(&value)?;
        fill_in_config(&mut value);
        let mut oci: oci::ImageConfiguration = parse::<D, _>(&value)?;
        if let Some(mut runtime) = oci.config().clone() {
            // oci-spec collects these Go sets' keys through a HashMap, in no fixed order;
            // sorted, they read as they did from a map.
            let sorted = |keys: &Option<Vec<String>>| {
                keys.clone().map(|mut keys| {
                    keys.sort();
                    keys
                })
            };
            runtime.set_exposed_ports(sorted(runtime.exposed_ports()));
            runtime.set_volumes(sorted(runtime.volumes()));
            oci.set_config(Some(runtime));
        }
        Ok(ImageConfig {
            platform: Platform {
                os: fields.os,
                architecture: fields.architecture,
                variant: fields.variant,
            },
            diff_ids: fields.rootfs.diff_ids,
            oci,
        })
    }
}

/// What a config may lack or hold loosely that oci-spec's `ImageConfiguration` requires.
fn fill_in_config(value: &mut Value) {
    let Some(config) = value.as_object_mut() else {
        return;
    };
    for key in ["architecture", "os"] {
        config.entry(key).or_insert_with(|| Value::from(""));
    }
    if let Some(Value::Object(runtime)) = config.get_mut("config") {
        for key in ["ExposedPorts", "Volumes"] {
            if let Some(Value::Object(set)) = runtime.get_mut(key) {
                set.values_mut().for_each(|v| *v = Value::Object(Map::new()));
            }
        }
    }
}

impl Serialize for ImageConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.oci.serialize(serializer)
    }
}

impl Default for ImageConfig {
    /// A config that names no platform (oci-spec's default names the host's) and no layers.
    fn default() -> Self {
        let mut oci = oci::ImageConfiguration::default();
        oci.set_architecture(oci::Arch::Other(String::new()));
        oci.set_os(oci::Os::Other(String::new()));
        ImageConfig {
            platform: Platform {
                os: String::new(),
                architecture: String::new(),
                variant: None,
            },
            diff_ids: Vec::new(),
            oci,
        }
    }
}

impl ImageConfig {
    /// The platform as the config writes it; empty strings for what it leaves out.
    pub fn platform(&self) -> Platform {
        self.platform.clone()
    }

    /// `rootfs.diff_ids`: the digest of each layer's uncompressed tar, in layer order.
    pub fn diff_ids(&self) -> &[Digest] {
        &self.diff_ids
    }

    /// Empty when the config has none (some tools write none).
    pub fn history(&self) -> &[History] {
        self.oci.history().as_deref().unwrap_or_default()
    }

    /// The `config` object (what `docker run` uses); empty when the config has none.
    pub fn runtime(&self) -> &RuntimeConfig {
        static NONE: LazyLock<RuntimeConfig> = LazyLock::new(RuntimeConfig::default);
        self.oci.config().as_ref().unwrap_or(&NONE)
    }

    pub fn oci(&self) -> &oci::ImageConfiguration {
        &self.oci
    }
}

