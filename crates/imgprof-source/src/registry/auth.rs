//! Answering a registry's `WWW-Authenticate` challenge: the Bearer token flow (anonymous,
//! with a username and password, or exchanging an identity token), or Basic. The result
//! is the value of the `Authorization` header the registry host is then sent; it is
//! never shown (its `Debug` is redacted) and never sent to another host.

use std::fmt;
use std::io::Read;

use base64::Engine as _;

use crate::registry::challenge::Challenge;
use crate::registry::credentials::Credential;

/// An `Authorization` header value.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthHeader(pub(crate) String);

impl fmt::Debug for AuthHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthHeader(<redacted>)")
    }
}

pub fn basic(username: &str, password: &str) -> AuthHeader {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    AuthHeader(format!("Basic {encoded}"))
}

/// What a token endpoint answers (Docker's `token`, OAuth2's `access_token`).
#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// The scope imgprof asks for: read access to one repository.
pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// The URL a Bearer challenge sends imgprof to for a token.
pub fn token_url(realm: &str, service: Option<&str>, scope: &str) -> String {
    let mut url = realm.to_owned();
    let mut separator = if realm.contains('?') { '&' } else { '?' };
    if let Some(service) = service {
        url.push(separator);
        url.push_str("service=");
        url.push_str(&query_escape(service));
        separator = '&';
    }
    url.push(separator);
    url.push_str("scope=");
    url.push_str(&query_escape(scope));
    url
}

/// Percent-encodes everything outside the unreserved set (RFC 3986), as query values need.
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Reads a token endpoint's JSON answer. The body is never echoed: it may hold a token.
pub fn parse_token_response(body: ureq::Body) -> Result<AuthHeader, String> {
    let mut bytes = Vec::new();
    body.into_reader()
        .take(1 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading the token response failed: {e}"))?;
    let response: TokenResponse =
        serde_json::from_slice(&bytes).map_err(|_| "the token endpoint did not answer with a JSON token".to_owned())?;
    let token = response
        .token
        .or(response.access_token)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| "the token endpoint's answer holds no usable token".to_owned())?;
    Ok(AuthHeader(format!("Bearer {token}")))
}

/// The form an identity token (OAuth2 refresh token) is exchanged with.
pub fn refresh_token_form(token: &str, service: Option<&str>, scope: &str) -> String {
    let mut form = format!(
        "grant_type=refresh_token&client_id=imgprof&refresh_token={}&scope={}",
        query_escape(token),
        query_escape(scope)
    );
    if let Some(service) = service {
        form.push_str("&service=");
        form.push_str(&query_escape(service));
    }
    form
}

/// The `Authorization` header that answers a Basic challenge, if the credential can.
pub fn answer_basic(credential: Option<&Credential>) -> Result<AuthHeader, &'static str> {
    match credential {
        Some(Credential::Basic { username, password }) => Ok(basic(username, password)),
        Some(Credential::IdentityToken(_)) => {
            Err("the registry asks for Basic authentication but the stored credential is an identity token")
        }
        None => Err("the registry asks for a username and password and none is stored"),
    }
}

/// Whether a challenge means the credentials were just refused (a second 401 after
/// answering the same kind of challenge).
pub fn same_kind(a: &Challenge, b: &Challenge) -> bool {
    matches!(
        (a, b),
        (Challenge::Basic, Challenge::Basic) | (Challenge::Bearer { .. }, Challenge::Bearer { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_urls_escape_their_parameters() {
        assert_eq!(
            token_url(
                "https://auth.example/token",
                Some("registry.example"),
                "repository:a/b:pull"
            ),
            "https://auth.example/token?service=registry.example&scope=repository%3Aa%2Fb%3Apull"
        );
        assert_eq!(
            token_url("https://auth.example/token?x=1", None, "s"),
            "https://auth.example/token?x=1&scope=s"
        );
    }

    #[test]
    fn auth_headers_do_not_show_in_debug() {
        let header = basic("user", "hunter2");
        assert_eq!(header.0, "Basic dXNlcjpodW50ZXIy");
        assert!(!format!("{header:?}").contains("dXNlcjpodW50ZXIy"));
    }

    #[test]
    fn refresh_form_carries_the_token_escaped() {
        let form = refresh_token_form("a+b/c", Some("svc"), "repository:x:pull");
        assert!(form.contains("refresh_token=a%2Bb%2Fc"));
        assert!(form.contains("&service=svc"));
    }
}
