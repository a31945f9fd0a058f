//! Docker Hub's pull path on loopback, under Hub's own host names: three TLS hosts with
//! certificates from a test CA, reached through imgprof's `--resolve`.
//!
//! - `registry-1.docker.io`: Debian's `docker-registry` in token mode behind a TLS front.
//!   A blob GET that the registry accepts (its token checked) is answered with a 307 to
//!   the CDN host, with a signed, expiring URL, as Hub does.
//! - `auth.docker.io`: the test [`TokenIssuer`](super::token::TokenIssuer) with Hub's
//!   service (`registry.docker.io`; anonymous tokens for `library/*`) behind a TLS front.
//! - `production.cloudflare.docker.com`: serves the registry's blobs from its storage
//!   when the URL's signature is right (403 otherwise), refuses a request that also
//!   carries an `Authorization` header (as S3 and Cloudflare do), and honours `Range`.
//!
//! Faults (a 429 with rate-limit headers, a reset mid-download) are armed per test in
//! [`Faults`] and fire once.

use std::sync::{Arc, Mutex};

use sha2::Digest as _;

use super::proxy::{Action, FaultProxy, Seen};
use super::registry::{RegistryAuth, TestCa, TestRegistry};

pub const API_HOST: &str = "registry-1.docker.io";
pub const AUTH_HOST: &str = "auth.docker.io";
pub const CDN_HOST: &str = "production.cloudflare.docker.com";

/// Known only to the API front and the CDN: what a signed URL is signed with.
const URL_SECRET: &str = "imgprof-test-cdn-secret";

/// Faults that fire once, on the next request they match.
#[derive(Default)]
pub struct Faults {
    /// The next manifest GET is answered 429 with these headers.
    pub throttle_next_manifest: Option<Vec<(String, String)>>,
    /// The next full (not ranged) CDN download of this blob (`sha256:HEX`) is reset
    /// after this many bytes.
    pub reset_download: Option<(String, usize)>,
}

pub struct HubWorld {
    pub registry: TestRegistry,
    pub api: FaultProxy,
    pub auth: FaultProxy,
    pub cdn: FaultProxy,
    pub ca: TestCa,
    pub faults: Arc<Mutex<Faults>>,
}

impl HubWorld {
    /// Pushes each `(skopeo source, repo:tag, all platforms)` into a fresh registry, then
    /// serves it as Hub does. `None` when the registry tools are missing (unless
    /// tools are required).
    pub fn start(images: &[(&str, &str, bool)]) -> Option<HubWorld> {
        let registry = TestRegistry::start()?;
        for (source, repo_tag, all) in images {
            registry.push(source, repo_tag, *all);
        }
        let registry = registry.restart_with(RegistryAuth::DockerHubToken);
        let ca = TestCa::issue(&[API_HOST, AUTH_HOST, CDN_HOST]);
        let faults = Arc::new(Mutex::new(Faults::default()));
        let issuer = registry.issuer.as_ref().map(|i| format!("127.0.0.1:{}", i.port));
        let auth = FaultProxy::start_tls("127.0.0.1", issuer, Box::new(|_, _| Action::Forward), &ca);

        let blobs_root = registry.blobs_dir().join("sha256");
        let armed = Arc::clone(&faults);
        let cdn = FaultProxy::start_tls(
            "127.0.0.1",
            None,
            Box::new(move |seen: &Seen, _| {
                let Some((path, verify)) = seen.path.split_once("?verify=") else {
                    return forbidden();
                };
                if verify != signature(path) {
                    return forbidden();
                }
                if seen.authorization {
                    return Action::Respond {
                        status: 400,
                        headers: vec![],
                        body: b"Only one auth mechanism allowed".to_vec(),
                    };
                }
                // /registry-v2/docker/registry/v2/blobs/sha256/ab/HEX/data
                let Some(relative) = path.strip_prefix("/registry-v2/docker/registry/v2/blobs/sha256/") else {
                    return forbidden();
                };
                let Ok(body) = std::fs::read(blobs_root.join(relative)) else {
                    return Action::status(404, &[]);
                };
                let mut faults = armed.lock().unwrap();
                let reset_after = match &faults.reset_download {
                    Some((digest, _))
                        if seen.range.is_none() && relative.contains(digest.trim_start_matches("sha256:")) =>
                    {
                        faults.reset_download.take().map(|(_, after)| after)
                    }
                    _ => None,
                };
                Action::Serve { body, reset_after }
            }),
            &ca,
        );

        let armed = Arc::clone(&faults);
        let api = FaultProxy::start_tls(
            "127.0.0.1",
            Some(registry.host()),
            Box::new(move |seen: &Seen, _| {
                let throttle = seen.method == "GET" && seen.path.contains("/manifests/");
                if let Some(headers) = armed.lock().unwrap().throttle_next_manifest.take_if(|_| throttle) {
                    return Action::Respond {
                        status: 429,
                        headers,
                        body: br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}"#.to_vec(),
                    };
                }
                match seen.path.split_once("/blobs/sha256:") {
                    Some((_, hex)) if seen.method == "GET" && hex.len() == 64 => {
                        let path = format!("/registry-v2/docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]);
                        let verify = signature(&path);
                        Action::RedirectIfOk(format!("https://{CDN_HOST}{path}?verify={verify}"))
                    }
                    _ => Action::Forward,
                }
            }),
            &ca,
        );
        Some(HubWorld {
            registry,
            api,
            auth,
            cdn,
            ca,
            faults,
        })
    }

    /// The flags that send Hub's names to this world and trust its CA.
    pub fn flags(&self) -> Vec<String> {
        let resolve = |host: &str, proxy: &FaultProxy| format!("{host}:443:127.0.0.1:{}", proxy.port);
        vec![
            "--resolve".into(),
            resolve(API_HOST, &self.api),
            "--resolve".into(),
            resolve(AUTH_HOST, &self.auth),
            "--resolve".into(),
            resolve(CDN_HOST, &self.cdn),
            "--ca-cert".into(),
            self.ca.cert.display().to_string(),
        ]
    }
}

fn forbidden() -> Action {
    Action::Respond {
        status: 403,
        headers: vec![],
        body: b"signature mismatch".to_vec(),
    }
}

/// `EXPIRY-MAC`: the URL's expiry and a MAC of path and expiry, as a CDN's signed
/// URLs carry.
fn signature(path: &str) -> String {
    let expiry = "4102444800"; // 2100-01-01
    let mac = sha2::Sha256::digest(format!("{URL_SECRET}{path}{expiry}"));
    let hex: String = mac.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{expiry}-{hex}")
}
