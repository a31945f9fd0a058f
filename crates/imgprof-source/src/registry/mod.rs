//! The registry client: references are parsed in `reference`; here the distribution API
//! (`client`, over `http` with retries and redirects), answering authentication
//! challenges (`challenge`, `auth`) with stored `credentials`, resumable blob streams
//! (`blob`), and opening an image from it all (`open`).

pub mod auth;
mod blob;
pub mod challenge;
pub mod client;
pub mod connect;
pub mod credentials;
pub mod http;
pub(crate) mod open;

pub use client::{RegistryClient, RegistryOptions, Sessions};
pub use connect::{ConnectTo, ConnectToError};
pub use http::RetryPolicy;

/// Refuses a registry reference that carries credentials before its host
/// (`user:password@host/repo:tag`, also behind a `scheme://`), with a message that shows
/// the reference without them: credentials belong in `docker login`'s store. `Ok` for
/// everything else, digest references (`repo@sha256:...`) included.
pub fn refuse_credentials_in_reference(arg: &str) -> Result<(), crate::SourceError> {
    let (scheme, rest) = arg.split_once("://").map_or(("", arg), |(s, r)| (s, r));
    // An '@' that a digest follows (`repo@sha256:...`) is a digest reference; any other
    // ends credentials, which may hold any character ('/' and '@' included).
    let is_digest = |tail: &str| {
        !tail.contains(['/', '@'])
            && tail.split_once(':').is_some_and(|(algorithm, encoded)| {
                algorithm.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                    && algorithm
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+._-".contains(&b))
                    && encoded.len() >= 32
                    && encoded
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
            })
    };
    let Some(at) = rest
        .rmatch_indices('@')
        .map(|(i, _)| i)
        .find(|&i| !is_digest(&rest[i + 1..]))
    else {
        return Ok(());
    };
    let after = &rest[at + 1..];
    let slash = after.find('/').unwrap_or(after.len());
    let mut shown = String::new();
    if !scheme.is_empty() {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    shown.push_str("(credentials removed)@");
    shown.push_str(after);
    let host = &after[..slash];
    Err(crate::SourceError::invalid(
        http::excerpt(&shown, 300),
        format!(
            "an image reference cannot carry a user name or password; log in with `docker login {}` \
             or store them in $DOCKER_CONFIG/config.json",
            http::excerpt(host, 100)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_with_credentials_are_refused_without_showing_them() {
        for arg in [
            "user:hunter2@127.0.0.1:5000/app:1",
            "https://user:hunter2@registry.example/app:1",
            "hunter2@registry.example/ns/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "user:hun/ter@2@127.0.0.1:5000/app:1",
            "user:hunter2@127.0.0.1:5000",
            "user:hunter2@localhost:5000",
        ] {
            let message = refuse_credentials_in_reference(arg).unwrap_err().to_string();
            assert!(!message.contains("hun"), "{message}");
            assert!(message.contains("(credentials removed)@"), "{message}");
            assert!(message.contains("docker login"), "{message}");
        }
        for arg in [
            "alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "127.0.0.1:5000/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "registry.example/app:1",
            "python",
        ] {
            assert!(refuse_credentials_in_reference(arg).is_ok(), "{arg}");
        }
    }
}
