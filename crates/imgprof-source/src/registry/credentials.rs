//! Registry credentials, found where users expect them: `$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json` (`credHelpers`, `auths` with `auth` or `identitytoken`,
//! `credsStore`), then `$REGISTRY_AUTH_FILE` or containers' `auth.json`. Secrets never
//! appear in `Debug` output or in errors.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use crate::reference::DOCKER_HUB;

#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint.
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("{path}: invalid credentials file")]
    Invalid {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: the `auth` entry for {registry} is not base64 `user:password`")]
    BadAuth { path: String, registry: String },
    #[error("credential helper docker-credential-{helper} failed for {registry}: {reason}")]
    Helper {
        helper: String,
        registry: String,
        reason: String,
    },
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Where to look, in order (so tests can point at their own files).
#[derive(Debug, Clone)]
pub struct CredentialSources {
    pub files: Vec<PathBuf>,
}

impl CredentialSources {
    /// Docker's config, then `$REGISTRY_AUTH_FILE` or containers' `auth.json`.
    pub fn from_env() -> Self {
        let mut files = Vec::new();
        match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => files.push(PathBuf::from(dir).join("config.json")),
            None => {
                if let Some(home) = std::env::var_os("HOME") {
                    files.push(PathBuf::from(home).join(".docker/config.json"));
                }
            }
        }
        if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE") {
            files.push(file.into());
        } else if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
            files.push(PathBuf::from(runtime).join("containers/auth.json"));
        }
        CredentialSources { files }
    }

    /// The credential for `registry` (`docker.io`, `host:port`), if any file has one.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>, CredentialError> {
        for path in &self.files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let config: ConfigFile = serde_json::from_str(&text).map_err(|source| CredentialError::Invalid {
                path: path.display().to_string(),
                source,
            })?;
            if let Some(found) = lookup_in(&config, path, registry)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

fn lookup_in(config: &ConfigFile, path: &Path, registry: &str) -> Result<Option<Credential>, CredentialError> {
    let keys = registry_keys(registry);
    // Keys as `docker login` writes them: `host[:port]`, and Hub's as a v1 URL.
    let helper = config
        .cred_helpers
        .iter()
        .find(|(key, _)| keys.contains(&normalize_key(key)));
    if let Some((_, helper)) = helper {
        return run_helper(helper, registry);
    }
    let entry = config.auths.iter().find(|(key, _)| keys.contains(&normalize_key(key)));
    if let Some((_, entry)) = entry {
        if let Some(token) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credential::IdentityToken(token.clone())));
        }
        if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
            return decode_auth(auth).map(Some).ok_or_else(|| CredentialError::BadAuth {
                path: path.display().to_string(),
                registry: registry.to_owned(),
            });
        }
    }
    match &config.creds_store {
        Some(store) => run_helper(store, registry),
        None => Ok(None),
    }
}

/// The names a registry goes by in config files (Docker Hub's is a v1 URL).
fn registry_keys(registry: &str) -> Vec<String> {
    if registry == DOCKER_HUB {
        vec![
            "docker.io".into(),
            "index.docker.io".into(),
            "registry-1.docker.io".into(),
        ]
    } else {
        vec![registry.to_owned()]
    }
}

/// `https://index.docker.io/v1/` -> `index.docker.io`.
fn normalize_key(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key).to_owned()
}

fn decode_auth(auth: &str) -> Option<Credential> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (username, password) = text.split_once(':')?;
    Some(Credential::Basic {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// `docker-credential-NAME get`, with the server on stdin, as the Docker CLI calls it.
/// Its stderr is dropped: helpers may echo what they were given.
fn run_helper(helper: &str, registry: &str) -> Result<Option<Credential>, CredentialError> {
    let fail = |reason: String| CredentialError::Helper {
        helper: helper.to_owned(),
        registry: registry.to_owned(),
        reason,
    };
    let server = if registry == DOCKER_HUB {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot run it ({e})")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(server.as_bytes()).map_err(|e| fail(e.to_string()))?;
    }
    let output = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !output.status.success() {
        // "credentials not found" is not an error: anonymous access may still work.
        return Ok(None);
    }
    let reply: HelperReply = serde_json::from_slice(&output.stdout)
        .map_err(|_| fail("it printed something other than its JSON reply".into()))?;
    Ok(Some(if reply.username == "<token>" {
        Credential::IdentityToken(reply.secret)
    } else {
        Credential::Basic {
            username: reply.username,
            password: reply.secret,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(json: &str) -> (tempfile::TempDir, CredentialSources) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        (dir, CredentialSources { files: vec![path] })
    }

    #[test]
    fn auths_and_identity_tokens() {
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret-pass");
        let (_d, s) = sources(&format!(
            r#"{{"auths": {{"localhost:5000": {{"auth": "{auth}"}}, "https://index.docker.io/v1/": {{"identitytoken": "tok-123"}}}}}}"#
        ));
        assert_eq!(
            s.lookup("localhost:5000").unwrap(),
            Some(Credential::Basic {
                username: "alice".into(),
                password: "s3cret-pass".into()
            })
        );
        assert_eq!(
            s.lookup("docker.io").unwrap(),
            Some(Credential::IdentityToken("tok-123".into()))
        );
        assert_eq!(s.lookup("ghcr.io").unwrap(), None);
        let shown = format!(
            "{:?} {:?}",
            s.lookup("localhost:5000").unwrap(),
            s.lookup("docker.io").unwrap()
        );
        assert!(!shown.contains("s3cret-pass") && !shown.contains("tok-123"), "{shown}");
    }

    #[test]
    fn bad_auth_names_the_file_not_the_secret() {
        let (_d, s) = sources(r#"{"auths": {"r.example": {"auth": "not base64 s3cret"}}}"#);
        let err = s.lookup("r.example").unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("r.example") && !err.contains("s3cret"),
            "{err}"
        );
    }

    #[test]
    fn hub_entries_keyed_by_the_v1_url_are_found() {
        let auth = base64::engine::general_purpose::STANDARD.encode("bob:hub-pass");
        let (_d, s) = sources(&format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{auth}"}}}}}}"#
        ));
        assert_eq!(
            s.lookup("docker.io").unwrap(),
            Some(Credential::Basic {
                username: "bob".into(),
                password: "hub-pass".into()
            })
        );
        // The helper named for Hub's key is the one run (here it is missing, which says so).
        let (_d, s) = sources(r#"{"credHelpers": {"https://index.docker.io/v1/": "imgprof-test-hub-helper"}}"#);
        let err = s.lookup("docker.io").unwrap_err().to_string();
        assert!(err.contains("docker-credential-imgprof-test-hub-helper"), "{err}");
        assert_eq!(s.lookup("ghcr.io").unwrap(), None);
    }

    #[test]
    fn missing_helper_is_a_clear_error() {
        let (_d, s) = sources(r#"{"credHelpers": {"r.example": "imgprof-test-missing"}}"#);
        let err = s.lookup("r.example").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-imgprof-test-missing") && err.contains("cannot run it"),
            "{err}"
        );
    }
}
