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
/// BuildKit's annotations on an attestation manifest in an index.
pub const REFERENCE_TYPE_ANNOTATION: &str = "vnd.docker.reference.type";
pub const REFERENCE_DIGEST_ANNOTATION: &str = "vnd.docker.reference.digest";
pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";

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
        let mut value = Value::deserialize(deserializer)?;
        let DescriptorFields { digest, platform } = parse::<D, _>(&value)?;
        // oci-spec requires it; an index.json written with only the digest, size and a
        // ref.name annotation leaves it out, and the blob then says what it is.
        if let Some(descriptor) = value.as_object_mut() {
            descriptor.entry("mediaType").or_insert_with(|| Value::from(""));
        }
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

    /// The annotation `key`, when present.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.oci.annotations().as_ref()?.get(key).map(String::as_str)
    }

    /// `artifactType`, when the descriptor names one.
    pub fn artifact_type(&self) -> Option<String> {
        self.oci.artifact_type().as_ref().map(ToString::to_string)
    }

    pub fn ref_name(&self) -> Option<&str> {
        self.annotation(REF_NAME_ANNOTATION)
    }

    /// For BuildKit's attestation manifests (provenance, SBOMs: platform `unknown/unknown`,
    /// annotated `vnd.docker.reference.type: attestation-manifest`), the digest of the
    /// image they describe, when the index says it.
    pub fn attestation_of(&self) -> Option<Option<Digest>> {
        (self.annotation(REFERENCE_TYPE_ANNOTATION) == Some(ATTESTATION_MANIFEST))
            .then(|| self.annotation(REFERENCE_DIGEST_ANNOTATION)?.parse().ok())
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

    /// `artifactType`, when the manifest names one (an OCI 1.1 artifact).
    pub fn artifact_type(&self) -> Option<String> {
        self.oci.artifact_type().as_ref().map(ToString::to_string)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn error_of<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        serde_json::from_str::<T>(json).unwrap_err().to_string()
    }

    #[test]
    fn docker_schema2_manifest_without_media_type() {
        let json = format!(
            r#"{{"schemaVersion": 2,
                "config": {{"mediaType": "application/vnd.docker.container.image.v1+json",
                            "size": 1469, "digest": "{}"}},
                "layers": [{{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                             "size": 3208942, "digest": "{}"}}]}}"#,
            digest('a'),
            digest('b')
        );
        let manifest: ImageManifest = serde_json::from_str(&json).unwrap();
        assert_eq!(manifest.oci().media_type(), &None);
        assert_eq!(manifest.config().media_type(), media_type::DOCKER_CONFIG);
        assert_eq!(manifest.config().digest().to_string(), digest('a'));
        assert_eq!(manifest.config().size(), 1469);
        let [layer] = manifest.layers() else {
            panic!("one layer: {manifest:?}")
        };
        assert_eq!(layer.media_type(), "application/vnd.docker.image.rootfs.diff.tar.gzip");
        assert_eq!(layer.digest().to_string(), digest('b'));
        assert_eq!(layer.size(), 3208942);
        assert!(layer.urls().is_empty());
    }

    #[test]
    fn docker_manifest_list() {
        let json = format!(
            r#"{{"schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
                "manifests": [
                  {{"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "size": 528, "digest": "{}",
                    "platform": {{"architecture": "arm", "os": "linux", "variant": "v7"}}}},
                  {{"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "size": 529, "digest": "{}",
                    "platform": {{"architecture": "armbe", "os": "linux", "os.version": "6.1"}}}}]}}"#,
            digest('c'),
            digest('d')
        );
        let index: ImageIndex = serde_json::from_str(&json).unwrap();
        let platforms: Vec<String> = index
            .manifests()
            .iter()
            .map(|d| d.platform().map(Platform::to_string).unwrap_or_default())
            .collect();
        // As written: oci-spec's Arch would give `armbe` back as `arm64be`.
        assert_eq!(platforms, ["linux/arm/v7", "linux/armbe"]);
        assert!(
            index
                .manifests()
                .iter()
                .all(|d| media_type::is_manifest(d.media_type()))
        );
        assert_eq!(index.manifests()[1].digest().to_string(), digest('d'));
    }

    #[test]
    fn index_with_unknown_media_types_annotations_and_fields() {
        let json = format!(
            r#"{{"schemaVersion": 2, "x-vendor": {{"nested": [1, 2]}},
                "annotations": {{"com.example.built-by": "a script"}},
                "manifests": [
                  {{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 7,
                    "digest": "{}", "x-extra": true,
                    "annotations": {{"org.opencontainers.image.ref.name": "1.0",
                                     "io.example.unknown": "whatever"}}}},
                  {{"mediaType": "application/vnd.example.thing.v1+json", "size": 9,
                    "digest": "{}", "artifactType": "application/vnd.example.sbom"}}]}}"#,
            digest('e'),
            digest('f')
        );
        let index: ImageIndex = serde_json::from_str(&json).unwrap();
        let [image, thing] = index.manifests() else {
            panic!("two entries: {index:?}")
        };
        assert_eq!(image.ref_name(), Some("1.0"));
        assert_eq!(thing.media_type(), "application/vnd.example.thing.v1+json");
        assert_eq!(thing.ref_name(), None);
        assert_eq!(thing.size(), 9);
    }

    #[test]
    fn index_without_schema_version() {
        let json = format!(
            r#"{{"manifests": [{{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                 "size": 7, "digest": "{}"}}]}}"#,
            digest('e')
        );
        let index: ImageIndex = serde_json::from_str(&json).unwrap();
        assert_eq!(index.into_manifests().len(), 1);
    }

    #[test]
    fn config_without_history_or_config() {
        let json = format!(
            r#"{{"architecture": "amd64", "os": "linux",
                "rootfs": {{"type": "layers", "diff_ids": ["{}"]}}}}"#,
            digest('1')
        );
        let config: ImageConfig = serde_json::from_str(&json).unwrap();
        assert!(config.history().is_empty());
        assert_eq!(config.runtime().user(), &None);
        assert_eq!(config.runtime().cmd(), &None);
        assert_eq!(config.platform().to_string(), "linux/amd64");
        assert_eq!(config.diff_ids().len(), 1);
        assert_eq!(config.oci().created(), &None);
    }

    #[test]
    fn config_from_an_old_engine() {
        // No architecture, os, created or variant; Go-map values that are not `{}`;
        // `empty_layer` and `history` as some writers leave them.
        let json = format!(
            r#"{{"config": {{"User": "app", "ExposedPorts": {{"8080/tcp": null, "53/udp": {{}}, "443/tcp": 1}},
                            "Volumes": {{"/data": null}}, "Env": null}},
                "rootfs": {{"type": "layers", "diff_ids": ["{}", "{}"]}},
                "history": [{{"created_by": "/bin/sh -c #(nop) ADD file:1 in / "}},
                            {{"created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}},
                            {{"created_by": "/bin/sh -c make", "empty_layer": null}}]}}"#,
            digest('1'),
            digest('2')
        );
        let config: ImageConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(
            config.platform(),
            Platform {
                os: String::new(),
                architecture: String::new(),
                variant: None
            }
        );
        assert_eq!(config.runtime().user().as_deref(), Some("app"));
        let ports = config.runtime().exposed_ports().clone().unwrap_or_default();
        assert_eq!(ports, ["443/tcp", "53/udp", "8080/tcp"], "sorted, as a map's keys");
        assert_eq!(config.runtime().volumes(), &Some(vec!["/data".to_owned()]));
        let empty: Vec<Option<bool>> = config.history().iter().map(|h| h.empty_layer()).collect();
        assert_eq!(empty, [None, Some(true), None]);
        assert_eq!(crate::history::layer_history(config.history(), 2).len(), 2);
    }

    #[test]
    fn what_imgprof_needs_is_required_and_named() {
        let layer = format!(
            r#"{{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1, "digest": "{}"}}"#,
            digest('a')
        );
        let no_config = format!(r#"{{"schemaVersion": 2, "layers": [{layer}]}}"#);
        assert!(error_of::<ImageManifest>(&no_config).contains("missing field `config`"));
        let no_layers = format!(r#"{{"schemaVersion": 2, "config": {layer}}}"#);
        assert!(error_of::<ImageManifest>(&no_layers).contains("missing field `layers`"));
        let no_version = format!(r#"{{"config": {layer}, "layers": []}}"#);
        assert!(error_of::<ImageManifest>(&no_version).contains("missing field `schemaVersion`"));
        let untyped = format!(
            r#"{{"schemaVersion": 2, "config": {{"size": 1, "digest": "{}"}}, "layers": []}}"#,
            digest('a')
        );
        assert!(error_of::<ImageManifest>(&untyped).contains("missing field `mediaType`"));
        assert!(error_of::<ImageIndex>(r#"{"schemaVersion": 2}"#).contains("missing field `manifests`"));
        let no_rootfs = r#"{"architecture": "amd64", "os": "linux"}"#;
        assert!(error_of::<ImageConfig>(no_rootfs).contains("missing field `rootfs`"));
        let e = error_of::<ImageConfig>("5");
        assert!(e.contains("expected struct ImageConfig"), "{e}");

        // Through the openers' parser: the error names the document, its source the field.
        let error =
            crate::local::parse_json::<ImageManifest>(no_config.as_bytes(), "app.tar:blobs/sha256/ab").unwrap_err();
        assert_eq!(error.to_string(), "app.tar:blobs/sha256/ab: invalid JSON");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("missing field `config`"));
    }

    #[test]
    fn digests_are_checked_by_imgprof() {
        let manifest = |digest: &str| {
            format!(
                r#"{{"schemaVersion": 2, "layers": [],
                    "config": {{"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1, "digest": "{digest}"}}}}"#
            )
        };
        let e = error_of::<ImageManifest>(&manifest("sha256:../../../../etc/passwd"));
        assert!(
            e.contains("\"sha256:../../../../etc/passwd\" is not 64 lowercase hex"),
            "{e}"
        );
        let e = error_of::<ImageManifest>(&manifest("sha256:ABCDEF"));
        assert!(e.contains("\"sha256:ABCDEF\" is not 64 lowercase hex"), "{e}");
        // oci-spec takes sha512 and md5; imgprof verifies sha256 only.
        let sha512 = format!("sha512:{}", "a".repeat(128));
        assert!(error_of::<ImageManifest>(&manifest(&sha512)).contains("unsupported algorithm"));
        assert!(error_of::<ImageManifest>(&manifest("md5:abc")).contains("unsupported algorithm"));
        let config = r#"{"rootfs": {"type": "layers", "diff_ids": ["sha256:abc"]}}"#;
        assert!(error_of::<ImageConfig>(config).contains("not 64 lowercase hex"));
        let config = r#"{"rootfs": {"type": "layers", "diff_ids": [5]}}"#;
        assert!(error_of::<ImageConfig>(config).contains("expected a string"));
    }

    #[test]
    fn archive_layer_sources() {
        let json = format!(
            r#"[{{"Config": "blobs/sha256/{hex}", "RepoTags": null, "Layers": ["blobs/sha256/{hex}"],
                 "LayerSources": {{"{d}": {{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                          "size": 10, "digest": "{d}"}}}}}}]"#,
            hex = "a".repeat(64),
            d = digest('a')
        );
        let entries: Vec<ArchiveManifestEntry> = serde_json::from_str(&json).unwrap();
        let sources = entries[0].layer_sources.as_ref().unwrap();
        let source = &sources[&digest('a').parse::<Digest>().unwrap()];
        assert_eq!(source.media_type(), "application/vnd.oci.image.layer.v1.tar");
        assert_eq!(source.size(), 10);
    }

    #[test]
    fn default_config_names_no_platform() {
        let config = ImageConfig::default();
        assert_eq!(config.platform().to_string(), "/");
        let written = serde_json::to_value(&config).unwrap();
        assert_eq!(written["architecture"], "");
        assert_eq!(written["os"], "");
    }
}
