//! Files that look like secrets: `.env` files, private keys, package-manager configs
//! holding tokens. Decided from the name and the first bytes of the content.

/// Names whose start the layer walk keeps, so `looks_secret` can read it.
pub fn may_hold_secret(name: &str) -> bool {
    is_env_file(name)
        || is_key_name(name)
        || matches!(
            name,
            ".npmrc" | ".pypirc" | ".netrc" | ".git-credentials" | "credentials"
        )
        || name.ends_with(".pem")
        || name.ends_with(".key")
}

fn is_env_file(name: &str) -> bool {
    name == ".env" || (name.starts_with(".env.") && !name.ends_with(".example") && !name.ends_with(".sample"))
}

fn is_key_name(name: &str) -> bool {
    matches!(name, "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519")
}

/// Why a file at `path` with leading `content` looks like a secret, if it does.
pub fn looks_secret(path: &str, content: Option<&[u8]>) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let text = content.map(String::from_utf8_lossy).unwrap_or_default();
    if is_env_file(name) {
        return Some("an environment file, usually holding credentials");
    }
    if (is_key_name(name) || name.ends_with(".pem") || name.ends_with(".key")) && text.contains("PRIVATE KEY-----") {
        return Some("a private key");
    }
    match name {
        ".npmrc" if text.contains("_authToken") || text.contains("_auth") => Some("an npm config with an auth token"),
        ".pypirc" if text.contains("password") => Some("a PyPI config with a password or token"),
        ".netrc" if text.contains("password") => Some("a netrc with a password"),
        ".git-credentials" => Some("stored git credentials"),
        "credentials" if path.contains(".aws/") || path.contains(".docker/") => Some("cloud or registry credentials"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        assert!(looks_secret("app/.env", Some(b"A=1")).is_some());
        assert!(looks_secret("app/.env.example", Some(b"A=1")).is_none());
        assert!(looks_secret("root/.ssh/id_rsa", Some(b"-----BEGIN OPENSSH PRIVATE KEY-----")).is_some());
        assert!(looks_secret("etc/ssl/certs/ca.pem", Some(b"-----BEGIN CERTIFICATE-----")).is_none());
        assert!(looks_secret("root/.npmrc", Some(b"//registry/:_authToken=abc")).is_some());
        assert!(looks_secret("root/.npmrc", Some(b"registry=x")).is_none());
    }
}
