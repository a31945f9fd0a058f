//! The HTTP side of the registry client: one request with retries (408, 429, 5xx and
//! connection resets, with backoff that honours `Retry-After`), redirects followed by
//! hand so that the `Authorization` header only ever goes to the host it was meant for,
//! and registry error bodies turned into readable reasons.

use std::io::Read;
use std::time::Duration;

use ureq::http::{Response, StatusCode, Uri};

/// How hard to try before giving up on a request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (crane: 3, regclient: 5).
    pub attempts: u32,
    /// The first backoff; it doubles on each retry.
    pub base_delay: Duration,
    /// No wait is longer than this, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based), or the server's `Retry-After`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self.base_delay.saturating_mul(1u32 << retry.min(16));
        retry_after.unwrap_or(backoff).min(self.max_delay)
    }
}

/// Redirects followed for one request before it is called a loop.
pub const MAX_REDIRECTS: usize = 8;

/// Statuses worth asking again for.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500..=599)
}

/// Transport failures worth asking again for: a dropped, reset or stalled connection,
/// but not a refused one or an unknown host (those will not change in a second).
pub fn is_retryable_error(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(e) => is_retryable_io(e),
        ureq::Error::Protocol(_) => true,
        _ => false,
    }
}

pub fn is_retryable_io(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    !matches!(
        error.kind(),
        ConnectionRefused | NotFound | PermissionDenied | InvalidInput
    )
}

/// `Retry-After` as seconds (the HTTP-date form is rare on registries; it falls back to
/// the backoff).
pub fn retry_after(response: &Response<ureq::Body>) -> Option<Duration> {
    header(response, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

pub fn header<'a>(response: &'a Response<ureq::Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `host[:port]` of a URL, lower-cased, as the `Authorization` boundary.
pub fn authority(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    uri.authority().map(|a| a.as_str().to_ascii_lowercase())
}

/// Where a redirect points, resolved against the URL that sent it.
pub fn resolve_location(base: &str, location: &str) -> Option<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_owned());
    }
    let uri: Uri = base.parse().ok()?;
    let origin = format!("{}://{}", uri.scheme_str()?, uri.authority()?.as_str());
    if location.starts_with("//") {
        return Some(format!("{}:{location}", uri.scheme_str()?));
    }
    if location.starts_with('/') {
        return Some(format!("{origin}{location}"));
    }
    let path = uri.path();
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    Some(format!("{origin}{dir}/{location}"))
}

/// A readable reason for a failed response: the status, and the registry's error codes
/// and messages when the body is the distribution API's JSON (never more than a short
/// excerpt of anything else).
pub fn failure_reason(response: Response<ureq::Body>) -> String {
    let status = response.status();
    let mut text = format!("HTTP {} {}", status.as_u16(), status.canonical_reason().unwrap_or(""))
        .trim_end()
        .to_owned();
    let mut body = Vec::new();
    let _ = response.into_body().into_reader().take(16 << 10).read_to_end(&mut body);
    if let Some(detail) = registry_errors(&body) {
        text.push_str(": ");
        text.push_str(&detail);
    }
    text
}

/// `{"errors":[{"code":"DENIED","message":"..."}]}` as `DENIED: ...`.
fn registry_errors(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let errors: Errors = serde_json::from_slice(body).ok()?;
    let parts: Vec<String> = errors
        .errors
        .iter()
        .map(|e| {
            let message: String = e.message.chars().filter(|c| !c.is_control()).take(200).collect();
            match (e.code.is_empty(), message.is_empty()) {
                (false, false) => format!("{}: {message}", e.code),
                (false, true) => e.code.clone(),
                _ => message,
            }
        })
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_sender() {
        let base = "http://127.0.0.1:5000/v2/app/blobs/sha256:ab";
        assert_eq!(
            resolve_location(base, "/elsewhere/x").as_deref(),
            Some("http://127.0.0.1:5000/elsewhere/x")
        );
        assert_eq!(
            resolve_location(base, "https://storage.example/b?sig=1").as_deref(),
            Some("https://storage.example/b?sig=1")
        );
        assert_eq!(
            resolve_location(base, "//cdn.example/b").as_deref(),
            Some("http://cdn.example/b")
        );
        assert_eq!(
            resolve_location(base, "other").as_deref(),
            Some("http://127.0.0.1:5000/v2/app/blobs/other")
        );
    }

    #[test]
    fn authority_includes_the_port() {
        assert_eq!(
            authority("http://127.0.0.1:5000/v2/").as_deref(),
            Some("127.0.0.1:5000")
        );
        assert_eq!(
            authority("https://Registry.Example/v2/").as_deref(),
            Some("registry.example")
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(0, None), Duration::from_millis(250));
        assert_eq!(policy.delay(2, None), Duration::from_millis(1000));
        assert_eq!(policy.delay(30, None), policy.max_delay);
        assert_eq!(policy.delay(0, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(policy.delay(0, Some(Duration::from_secs(3600))), policy.max_delay);
    }

    #[test]
    fn registry_error_bodies_are_summarised() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            registry_errors(body).as_deref(),
            Some("MANIFEST_UNKNOWN: manifest unknown")
        );
        assert_eq!(registry_errors(b"<html>502 Bad Gateway</html>"), None);
    }
}
