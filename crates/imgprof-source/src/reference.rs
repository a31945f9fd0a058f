//! Image references as Docker and crane parse them: `python:3.12` is
//! `docker.io/library/python:3.12`, served by `registry-1.docker.io`;
//! `host:port/ns/repo:tag`, `repo@sha256:...`, `repo:tag@sha256:...`, `localhost/repo`.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API lives.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `ghcr.io`, `localhost:5000`, ...
    pub registry: String,
    /// `library/python`, `myorg/app`, ...
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct ReferenceError {
    pub reference: String,
    pub reason: String,
}

impl Reference {
    /// The host the registry API answers on (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What to ask the registry for: the digest when pinned, else the tag (`latest` by
    /// default).
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// Whether the registry is on this machine, where plain HTTP is allowed.
    pub fn is_loopback(&self) -> bool {
        let host = self
            .registry
            .rsplit_once(':')
            .map_or(self.registry.as_str(), |(h, _)| h);
        matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.starts_with("127.")
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| ReferenceError {
            reference: input.to_owned(),
            reason: reason.to_owned(),
        };
        if input.is_empty() {
            return Err(fail("it is empty"));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("it contains white space"));
        }
        let (name, digest) = match input.split_once('@') {
            Some((name, digest)) => {
                let digest = digest.parse::<Digest>().map_err(|e| fail(&e.to_string()))?;
                (name, Some(digest))
            }
            None => (input, None),
        };
        // A tag follows the last ':' after the last '/' (a ':' before it is a port).
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &name[last_slash + i + 1..];
                let valid = !tag.is_empty()
                    && tag.len() <= 128
                    && tag
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    && tag
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
                if !valid {
                    return Err(fail(
                        "the tag must be 1-128 of [A-Za-z0-9_.-], not starting with . or -",
                    ));
                }
                (&name[..last_slash + i], Some(tag.to_owned()))
            }
            None => (name, None),
        };
        let (registry, repository) = match name.split_once('/') {
            // The first component is a registry when it looks like a host.
            Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                (first.to_owned(), rest.to_owned())
            }
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        let registry = if registry == "index.docker.io" {
            DOCKER_HUB.to_owned()
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
        };
        if !repository.split('/').all(component_ok) {
            return Err(fail(
                "repository names are lower-case letters, digits and separators (. _ -), e.g. myorg/app",
            ));
        }
        if repository.len() > 255 {
            return Err(fail("the repository name is longer than 255 characters"));
        }
        Ok(Reference {
            registry,
            repository,
            tag: if digest.is_some() {
                tag
            } else {
                tag.or_else(|| Some("latest".to_owned()))
            },
            digest,
        })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn docker_hub_shorthands() {
        let p = r("python:3.12");
        assert_eq!(
            (p.registry.as_str(), p.repository.as_str(), p.tag.as_deref()),
            ("docker.io", "library/python", Some("3.12"))
        );
        assert_eq!(p.api_host(), "registry-1.docker.io");
        assert_eq!(p.to_string(), "docker.io/library/python:3.12");
        assert_eq!(r("ubuntu").tag.as_deref(), Some("latest"));
        assert_eq!(r("myorg/app:1.4").repository, "myorg/app");
        assert_eq!(r("index.docker.io/library/alpine").registry, "docker.io");
    }

    #[test]
    fn hosts_ports_and_digests() {
        let local = r("localhost:5000/ns/repo:tag");
        assert_eq!(
            (local.registry.as_str(), local.repository.as_str()),
            ("localhost:5000", "ns/repo")
        );
        assert!(local.is_loopback());
        assert_eq!(r("localhost/repo").registry, "localhost");
        assert_eq!(r("127.0.0.1:40123/app").repository, "app");
        let d = format!("sha256:{}", "a".repeat(64));
        let pinned = r(&format!("ghcr.io/org/app@{d}"));
        assert_eq!(pinned.tag, None);
        assert_eq!(pinned.manifest_reference(), d);
        let both = r(&format!("app:1.0@{d}"));
        assert_eq!(both.tag.as_deref(), Some("1.0"));
        assert_eq!(both.manifest_reference(), d, "the digest wins");
        assert!(!r("ghcr.io/org/app").is_loopback());
    }

    #[test]
    fn invalid_references_say_why() {
        for (bad, why) in [
            ("", "empty"),
            ("Python:3", "lower-case"),
            ("app:", "tag"),
            ("app:-x", "tag"),
            ("app@sha256:zz", "sha256"),
            ("app@md5:abc", "unsupported algorithm"),
            ("a b", "white space"),
            ("org//app", "lower-case"),
        ] {
            let err = bad.parse::<Reference>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
