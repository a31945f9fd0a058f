//! A focused client for the OCI distribution API: manifests and blobs over HTTP, streamed.
//! This first step speaks to registries that need no authentication over plain HTTP on
//! loopback; the token flow, TLS, retries and credentials come next.

use std::io::Read;
use std::time::Duration;

use crate::digest::Digest;
use crate::error::SourceError;
use crate::reference::Reference;
use crate::spec::media_type;

/// Every manifest type imgprof reads, as the Accept header lists them.
const MANIFEST_ACCEPT: &str = concat!(
    "application/vnd.oci.image.index.v1+json, ",
    "application/vnd.docker.distribution.manifest.list.v2+json, ",
    "application/vnd.oci.image.manifest.v1+json, ",
    "application/vnd.docker.distribution.manifest.v2+json"
);

/// Largest manifest or config imgprof reads into memory.
const MAX_DOCUMENT: u64 = 32 << 20;

pub struct RegistryClient {
    agent: ureq::Agent,
    base: String,
    pub reference: Reference,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("base", &self.base).finish()
    }
}

impl RegistryClient {
    pub fn new(reference: Reference) -> Result<RegistryClient, SourceError> {
        if !reference.is_loopback() {
            return Err(SourceError::invalid(
                reference.to_string(),
                "only registries on this machine (plain HTTP on loopback) are supported so far",
            ));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .into();
        Ok(RegistryClient {
            agent,
            base: format!("http://{}/v2/{}", reference.api_host(), reference.repository),
            reference,
        })
    }

    fn what(&self, path: &str) -> String {
        format!("{}/{}{path}", self.reference.registry, self.reference.repository)
    }

    fn get(&self, path: &str, accept: Option<&str>) -> Result<ureq::http::Response<ureq::Body>, SourceError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let response = request
            .call()
            .map_err(|e| SourceError::invalid(self.what(path), format!("request failed: {e}")))?;
        let status = response.status().as_u16();
        if status != 200 {
            let reason = match status {
                401 => "401 Unauthorized (authentication is not supported yet)".to_owned(),
                404 => "404 Not Found".to_owned(),
                other => format!("HTTP {other}"),
            };
            return Err(SourceError::invalid(self.what(path), reason));
        }
        Ok(response)
    }

    /// A manifest or index by tag or digest: its bytes, media type and digest, verified
    /// when asked for by digest.
    pub fn manifest(&self, reference: &str) -> Result<(Vec<u8>, String, Digest), SourceError> {
        let path = format!("/manifests/{reference}");
        let response = self.get(&path, Some(MANIFEST_ACCEPT))?;
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let bytes = read_limited(response.into_body(), &self.what(&path))?;
        let digest = Digest::of(&bytes);
        if let Ok(expected) = reference.parse::<Digest>()
            && expected != digest
        {
            return Err(SourceError::DigestMismatch {
                what: self.what(&path),
                expected: expected.to_string(),
                actual: digest.to_string(),
            });
        }
        let media_type = if content_type.is_empty() {
            sniff_media_type(&bytes)
        } else {
            content_type
        };
        Ok((bytes, media_type, digest))
    }

    /// A small blob (a config) whole, verified.
    pub fn small_blob(&self, digest: &Digest) -> Result<Vec<u8>, SourceError> {
        let path = format!("/blobs/{digest}");
        let bytes = read_limited(self.get(&path, None)?.into_body(), &self.what(&path))?;
        crate::local::verify_bytes(&bytes, digest, &self.what(&path))?;
        Ok(bytes)
    }

    /// A layer blob as a stream; the layer walk verifies its digest as it reads.
    pub fn blob_stream(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, SourceError> {
        let response = self.get(&format!("/blobs/{digest}"), None)?;
        Ok(Box::new(response.into_body().into_reader()))
    }
}

fn read_limited(body: ureq::Body, what: &str) -> Result<Vec<u8>, SourceError> {
    let mut bytes = Vec::new();
    body.into_reader()
        .take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| SourceError::Io {
            location: what.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(SourceError::invalid(what, format!("larger than {MAX_DOCUMENT} bytes")));
    }
    Ok(bytes)
}

/// Registries that omit Content-Type: an index has `manifests`, a manifest `layers`.
fn sniff_media_type(bytes: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let declared = value.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
    if !declared.is_empty() {
        return declared.to_owned();
    }
    if value.get("manifests").is_some() {
        media_type::OCI_INDEX.to_owned()
    } else {
        media_type::OCI_MANIFEST.to_owned()
    }
}
