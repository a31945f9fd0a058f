//! Platforms (`os/arch[/variant]`) and choosing one from an index.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::spec::Descriptor;

/// An image platform as written in index descriptors and image configs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of the machine imgprof runs on, as Docker names it.
    pub fn host() -> Self {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "x86" => ("386", None),
            "arm" => ("arm", Some("v7")),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            other => (other, None),
        };
        Platform {
            os: "linux".to_owned(),
            architecture: architecture.to_owned(),
            variant: variant.map(str::to_owned),
        }
    }

    /// Whether an image built for `self` satisfies a request for `wanted`. A request
    /// without a variant accepts any variant; `arm64` and `arm64/v8` are the same.
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        if self.os != wanted.os || self.architecture != wanted.architecture {
            return false;
        }
        match (&wanted.variant, self.normalized_variant()) {
            (None, _) => true,
            (Some(w), have) => Some(w.as_str()) == have || (have.is_none() && wanted.is_default_variant()),
        }
    }

    fn normalized_variant(&self) -> Option<&str> {
        match (self.architecture.as_str(), self.variant.as_deref()) {
            ("arm64", Some("v8")) => None,
            (_, v) => v,
        }
    }

    fn is_default_variant(&self) -> bool {
        matches!(
            (self.architecture.as_str(), self.variant.as_deref()),
            ("arm64", Some("v8"))
        )
    }

    /// Attestation manifests in BuildKit indexes carry `unknown/unknown`.
    /// `unknown/unknown`, as BuildKit marks attestation manifests.
    pub fn unknown() -> Self {
        Platform {
            os: "unknown".to_owned(),
            architecture: "unknown".to_owned(),
            variant: None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" || self.architecture == "unknown"
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid platform {0:?}: expected os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8")]
pub struct PlatformParseError(String);

impl FromStr for Platform {
    type Err = PlatformParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let valid = (2..=3).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty());
        if !valid {
            return Err(PlatformParseError(s.to_owned()));
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        })
    }
}

/// One entry of a (possibly multi-platform) source, as `imgprof platforms` lists it.
#[derive(Debug, Clone)]
pub struct PlatformEntry {
    pub platform: Platform,
    pub digest: Option<Digest>,
    pub ref_name: Option<String>,
    pub kind: EntryKind,
    /// The layers' bytes as stored, when the source read the manifest while listing (a
    /// registry does, so that sizes need no second request).
    pub compressed: Option<u64>,
}

/// What an entry of an index is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Image,
    /// BuildKit's provenance or SBOM manifest of the image with this digest: no filesystem.
    Attestation {
        of: Option<Digest>,
    },
    /// An image the index names whose manifest the store does not hold (a containerd
    /// content store after a pull or import of other platforms only).
    Absent,
}

impl PlatformEntry {
    pub fn image(platform: Platform, digest: Option<Digest>, ref_name: Option<String>) -> PlatformEntry {
        PlatformEntry {
            platform,
            digest,
            ref_name,
            kind: EntryKind::Image,
            compressed: None,
        }
    }

    /// The entry an index's descriptor makes, an attestation when it is annotated as one.
    pub fn of_descriptor(descriptor: &Descriptor, platform: Platform, ref_name: Option<String>) -> PlatformEntry {
        PlatformEntry {
            // BuildKit marks its attestations `unknown/unknown`, annotated or not.
            kind: match descriptor.attestation_of() {
                Some(of) => EntryKind::Attestation { of },
                None if platform.is_unknown() => EntryKind::Attestation { of: None },
                None => EntryKind::Image,
            },
            ..PlatformEntry::image(platform, Some(descriptor.digest().clone()), ref_name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn matching() {
        assert!(p("linux/amd64").satisfies(&p("linux/amd64")));
        assert!(p("linux/arm/v7").satisfies(&p("linux/arm")));
        assert!(!p("linux/arm/v6").satisfies(&p("linux/arm/v7")));
        assert!(p("linux/arm64").satisfies(&p("linux/arm64/v8")));
        assert!(p("linux/arm64/v8").satisfies(&p("linux/arm64")));
        assert!(!p("windows/amd64").satisfies(&p("linux/amd64")));
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//v7".parse::<Platform>().is_err());
        assert_eq!(p("linux/arm/v7").to_string(), "linux/arm/v7");
    }
}
