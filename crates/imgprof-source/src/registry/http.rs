//! The HTTP side of the registry client: one request with retries (408, 429, 5xx and
//! connection resets, with backoff that honours `Retry-After` up to a cap), redirects
//! followed by hand so that the `Authorization` header only ever goes to the host it was
//! meant for, and registry error bodies turned into short readable reasons (never more
//! than a few hundred characters of what a server sent, and never a URL's credentials).

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
    /// No wait is longer than this, `Retry-After` included (a registry asking for a day
    /// gets this, and after `attempts` a clear error).
    pub max_delay: Duration,
}

/// The environment variable that lowers or raises [`RetryPolicy::max_delay`], in whole
/// seconds.
pub const MAX_WAIT_ENV: &str = "IMGPROF_RETRY_MAX_WAIT";

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The default policy, with `max_delay` from `IMGPROF_RETRY_MAX_WAIT` when it holds a
    /// whole number of seconds (anything else is ignored).
    pub fn from_env() -> RetryPolicy {
        let mut policy = RetryPolicy::default();
        if let Some(secs) = std::env::var(MAX_WAIT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            policy.max_delay = Duration::from_secs(secs);
        }
        policy
    }

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

/// Transport failures worth asking again for: a dropped, reset or stalled connection, a
/// failed name lookup (DNS failures pass), but not a refused connection (nothing listens,
/// and that will not change in a second) and not a failed TLS handshake (an untrusted
/// certificate stays untrusted).
pub fn is_retryable_error(error: &ureq::Error) -> bool {
    if tls_failure(error).is_some() {
        return false;
    }
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

/// The TLS error behind a transport failure: ureq reports rustls' own, or an I/O error
/// that carries it (the handshake runs inside the first read or write).
pub fn tls_failure(error: &ureq::Error) -> Option<&rustls::Error> {
    match error {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(e) => e.get_ref()?.downcast_ref::<rustls::Error>(),
        _ => None,
    }
}

/// `Retry-After` as the server asked: whole seconds, or an HTTP-date (RFC 9110 10.2.3)
/// turned into the wait from now (a date in the past is no wait). [`RetryPolicy::delay`]
/// caps it.
pub fn retry_after(response: &Response<ureq::Body>) -> Option<Duration> {
    parse_retry_after(header(response, "retry-after")?, std::time::SystemTime::now())
}

fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Docker Hub's pull limit as its `ratelimit-limit` and `ratelimit-remaining` headers
/// say it (`100;w=21600`): "0 of 100 pulls left per 6 h".
pub fn rate_limit(response: &Response<ureq::Body>) -> Option<String> {
    let count = |name| -> Option<(u64, Option<u64>)> {
        let value = header(response, name)?;
        let mut parts = value.split(';');
        let count = parts.next()?.trim().parse().ok()?;
        let window = parts.find_map(|p| p.trim().strip_prefix("w=")?.parse().ok());
        Some((count, window))
    };
    let (limit, window) = count("ratelimit-limit")?;
    let (remaining, _) = count("ratelimit-remaining").unwrap_or((0, None));
    let mut text = format!("{remaining} of {limit} pulls left");
    if let Some(secs) = window {
        text.push_str(&format!(" per {} h", secs / 3600));
    }
    Some(text)
}

pub fn header<'a>(response: &'a Response<ureq::Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `host[:port]` of a URL, lower-cased, as the `Authorization` boundary.
pub fn authority(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    uri.authority().map(|a| a.as_str().to_ascii_lowercase())
}

/// Whether a URL names a user (and maybe a password) before its host: `http://u:p@host/`.
/// Such URLs are refused rather than followed or shown.
pub fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.contains('@')
}

/// A URL as messages show it: without credentials before the host, without the query
/// (pre-signed storage URLs carry signatures there), escaped and cut to 200 characters.
pub fn display_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let path = tail.split(['?', '#']).next().unwrap_or("");
    let mut shown = String::new();
    if !scheme.is_empty() {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    if authority.contains('@') {
        shown.push_str("(credentials removed)@");
    }
    shown.push_str(host);
    shown.push_str(path);
    if path.len() < tail.len() {
        shown.push_str("?...");
    }
    excerpt(&shown, 200)
}

/// At most `max` characters of text a server sent, control characters escaped.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A transport failure as one clause: a timeout says how long imgprof waited and how to
/// wait longer.
pub fn describe_error(error: &ureq::Error, stall: Duration, url: &str) -> String {
    if let Some(tls) = tls_failure(error) {
        return describe_tls(tls, &authority(url).unwrap_or_else(|| url.to_owned()));
    }
    match error {
        ureq::Error::Timeout(_) => describe_timeout(stall),
        other => excerpt(&other.to_string(), 300),
    }
}

/// A failed handshake with `host` (the registry, its token service or its blob
/// storage), with what to do when the certificate is one the user trusts.
fn describe_tls(error: &rustls::Error, host: &str) -> String {
    let reason = excerpt(&error.to_string(), 200);
    match error {
        rustls::Error::InvalidCertificate(_) => format!(
            "TLS: the certificate of {host} is not trusted ({reason}); if it is signed by a private CA, \
             pass the CA's certificate with --ca-cert FILE (PEM) or set SSL_CERT_FILE"
        ),
        _ => format!("TLS handshake with {host} failed: {reason}"),
    }
}

pub fn describe_timeout(stall: Duration) -> String {
    format!(
        "timed out: no answer for {} s (wait longer with --timeout SECS)",
        stall.as_secs()
    )
}

/// Whether an I/O error from a response body is ureq's read timeout.
pub fn is_timeout_io(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|e| matches!(e, ureq::Error::Timeout(_)))
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
    // A broken or endless body still gives the status: what arrived is all there is.
    let _ = response.into_body().into_reader().take(16 << 10).read_to_end(&mut body);
    if let Some(detail) = registry_errors(&body) {
        text.push_str(": ");
        text.push_str(&detail);
    }
    text
}

/// Registry errors shown of one body; the rest are counted.
const MAX_ERRORS_SHOWN: usize = 3;

/// `{"errors":[{"code":"DENIED","message":"..."}]}` as `DENIED: ...`: the first few
/// errors, each code and message cut short and escaped.
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
            let code = excerpt(&e.code, 40);
            let message = excerpt(&e.message, 160);
            match (code.is_empty(), message.is_empty()) {
                (false, false) => format!("{code}: {message}"),
                (false, true) => code,
                _ => message,
            }
        })
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return None;
    }
    let mut text = parts[..parts.len().min(MAX_ERRORS_SHOWN)].join("; ");
    if parts.len() > MAX_ERRORS_SHOWN {
        text.push_str(&format!(" (and {} more)", parts.len() - MAX_ERRORS_SHOWN));
    }
    Some(text)
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

    #[test]
    fn long_error_bodies_are_cut_and_escaped() {
        let errors: Vec<_> = (0..50)
            .map(|i| serde_json::json!({ "code": format!("C{i}\u{1b}[31m"), "message": "m".repeat(500) }))
            .collect();
        let body = serde_json::json!({ "errors": errors }).to_string();
        let text = registry_errors(body.as_bytes()).unwrap();
        assert!(text.len() < 700, "{} bytes", text.len());
        assert!(text.ends_with("(and 47 more)"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.starts_with("C0\\u{1b}[31m: mmm"), "{text}");
    }

    #[test]
    fn urls_are_shown_without_credentials_or_queries() {
        assert!(has_userinfo("http://u:p@host:5000/token"));
        assert!(has_userinfo("u:p@host/x"));
        assert!(!has_userinfo("https://host/path@x"));
        assert!(!has_userinfo("https://host/p?u=a@b"));
        assert_eq!(
            display_url("http://user:hunter2@127.0.0.1:5000/token?scope=x"),
            "http://(credentials removed)@127.0.0.1:5000/token?..."
        );
        assert_eq!(
            display_url("https://storage.example/b/c?X-Amz-Signature=abc"),
            "https://storage.example/b/c?..."
        );
        assert_eq!(display_url("https://auth.example/token"), "https://auth.example/token");
        assert!(display_url(&format!("https://h/{}", "a".repeat(1000))).len() < 210);
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Mon, 07 Dec 2026 10:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Mon, 07 Dec 2026 10:00:03 GMT", now),
            Some(Duration::from_secs(3))
        );
        // RFC 850 and asctime, which HTTP/1.1 recipients must still read.
        assert_eq!(
            parse_retry_after("Monday, 07-Dec-26 10:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Mon Dec  7 10:00:02 2026", now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after("Mon, 07 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_is_capped_by_the_policy() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_delay, Duration::from_secs(10));
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(86_400))),
            Duration::from_secs(10)
        );
    }
}
