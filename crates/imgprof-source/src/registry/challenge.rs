//! `WWW-Authenticate` challenges (RFC 7235) as registries send them:
//! `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`
//! or `Basic realm="Registry"`.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Basic,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unusable WWW-Authenticate header \"{header}\": {reason}")]
pub struct ChallengeError {
    /// The start of the header, escaped: a server may send tens of kilobytes.
    pub header: String,
    pub reason: String,
}

impl Challenge {
    pub fn parse(header: &str) -> Result<Challenge, ChallengeError> {
        let fail = |reason: &str| ChallengeError {
            header: crate::registry::http::excerpt(header, 120),
            reason: reason.to_owned(),
        };
        let header_trimmed = header.trim();
        let (scheme, rest) = header_trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((header_trimmed, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Ok(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(fail("only Bearer and Basic are supported"));
        }
        let params = parse_params(rest).ok_or_else(|| fail("malformed parameters"))?;
        let realm = params
            .get("realm")
            .cloned()
            .ok_or_else(|| fail("Bearer without a realm"))?;
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(fail("the realm is not an http(s) URL"));
        }
        Ok(Challenge::Bearer {
            realm,
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        })
    }
}

/// `key="value", key=token, ...` with quoted strings (backslash escapes) allowed.
fn parse_params(text: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(params);
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || key.is_empty() {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '"' => break,
                    c => value.push(c),
                }
            }
            value
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ',' && !c.is_whitespace())).collect()
        };
        params.insert(key.to_ascii_lowercase(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/python:pull".into()),
            }
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap(),
            Challenge::Basic
        );
        let unquoted = Challenge::parse("bearer realm=http://127.0.0.1:5001/token, service=test").unwrap();
        assert!(matches!(unquoted, Challenge::Bearer { ref service, .. } if service.as_deref() == Some("test")));
        let escaped = Challenge::parse(r#"Bearer realm="https://a/t",scope="x\"y""#).unwrap();
        assert!(matches!(escaped, Challenge::Bearer { ref scope, .. } if scope.as_deref() == Some("x\"y")));
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "",
            "Negotiate abc",
            "Bearer service=x",
            "Bearer realm=\"unterminated",
            "Bearer realm=\"ftp://x\"",
            "Bearer =x",
        ] {
            assert!(Challenge::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn errors_quote_only_the_start_of_a_long_header() {
        let header = format!("Bearer {}\u{1b}", "x".repeat(30_000));
        let message = Challenge::parse(&header).unwrap_err().to_string();
        assert!(message.len() < 250, "{} bytes", message.len());
        assert!(!message.contains('\u{1b}'));
    }
}
