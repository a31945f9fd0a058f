//! A token issuer for the registry's `auth: token` mode, as Docker Hub's auth service
//! works: `GET /token?service=..&scope=..` with Basic credentials, or the OAuth2
//! `POST /token` with a refresh token (an identity token), answers a JWT signed RS256 by
//! a test certificate that the registry trusts (`rootcertbundle`). Signing uses the
//! `openssl` command; the HTTP side is a small loopback server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

pub const ISSUER: &str = "imgprof-test-issuer";

/// The service a token is for and which repositories an anonymous token may pull
/// (others answer 401, as private repositories do).
#[derive(Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    pub public_prefix: &'static str,
}

/// The project's own test registry.
pub const TEST_SERVICE: Service = Service {
    name: "imgprof-test-registry",
    public_prefix: "public/",
};

/// Docker Hub's: `registry.docker.io`, official images under `library/` for anyone.
pub const DOCKER_HUB: Service = Service {
    name: "registry.docker.io",
    public_prefix: "library/",
};

/// One request the issuer answered.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub method: String,
    pub target: String,
    pub granted: bool,
}

pub struct TokenIssuer {
    pub port: u16,
    pub cert: PathBuf,
    pub service: Service,
    pub requests: Arc<Mutex<Vec<TokenRequest>>>,
    /// Every token handed out, so tests can check none reaches the output.
    issued: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
struct Accounts {
    username: String,
    password: String,
    identity_token: String,
}

impl TokenIssuer {
    pub fn start(service: Service, username: &str, password: &str, identity_token: &str) -> TokenIssuer {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=imgprof test token issuer"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = certificate_der(&cert);
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let accounts = Accounts {
            username: username.to_owned(),
            password: password.to_owned(),
            identity_token: identity_token.to_owned(),
        };
        let log = Arc::clone(&requests);
        let issued = Arc::new(Mutex::new(Vec::new()));
        let handed_out = Arc::clone(&issued);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (key, der, accounts, log) = (key.clone(), der.clone(), accounts.clone(), Arc::clone(&log));
                let handed_out = Arc::clone(&handed_out);
                std::thread::spawn(move || serve(stream, service, &key, &der, &accounts, &log, &handed_out));
            }
        });
        TokenIssuer {
            port,
            service,
            cert,
            requests,
            issued,
            _dir: dir,
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// The tokens issued so far.
    pub fn issued(&self) -> Vec<String> {
        self.issued.lock().unwrap().clone()
    }
}

fn certificate_der(cert: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(cert)
        .output()
        .expect("openssl runs");
    assert!(out.status.success());
    out.stdout
}

fn serve(
    stream: TcpStream,
    service: Service,
    key: &Path,
    der: &[u8],
    accounts: &Accounts,
    log: &Mutex<Vec<TokenRequest>>,
    issued: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("stream clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut authorization = None;
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(value.trim().to_owned()),
                "content-length" => content_length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; content_length];
    let _ = reader.read_exact(&mut body);
    let params = |text: &str| -> Vec<(String, String)> {
        text.split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), unescape(v)))
            .collect()
    };
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let (fields, granted) = if method == "POST" {
        let fields = params(&String::from_utf8_lossy(&body));
        let token_ok = fields
            .iter()
            .any(|(k, v)| k == "refresh_token" && *v == accounts.identity_token);
        (fields, token_ok)
    } else {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", accounts.username, accounts.password))
        );
        // As Docker Hub's: no credentials still get a token, good for public repositories.
        (
            params(query),
            authorization.is_none() || authorization.as_deref() == Some(expected.as_str()),
        )
    };
    let anonymous = method != "POST" && authorization.is_none();
    log.lock().unwrap().push(TokenRequest {
        method: method.clone(),
        target: target.clone(),
        granted,
    });
    let mut stream = stream;
    if !granted {
        let _ = stream.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"errors\":\"unauthorized\"}\r\n",
        );
        return;
    }
    let scopes: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' '))
        .filter(|scope| !anonymous || scope.starts_with(&format!("repository:{}", service.public_prefix)))
        .collect();
    let token = sign(key, der, service, &scopes);
    issued.lock().unwrap().push(token.clone());
    let body = format!(r#"{{"token":"{token}","access_token":"{token}","expires_in":300}}"#);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A JWT granting every action each `repository:NAME:ACTIONS` scope asks for.
fn sign(key: &Path, der: &[u8], service: Service, scopes: &[&str]) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let kind = parts.next()?;
            let (name, actions) = {
                let rest: Vec<&str> = parts.collect();
                (rest.first()?.to_string(), rest.get(1).copied().unwrap_or(""))
            };
            Some(serde_json::json!({
                "type": kind,
                "name": name,
                "actions": actions.split(',').filter(|a| !a.is_empty()).collect::<Vec<_>>(),
            }))
        })
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let header = serde_json::json!({
        "typ": "JWT",
        "alg": "RS256",
        "x5c": [base64::engine::general_purpose::STANDARD.encode(der)],
    });
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": "imgprof-test",
        "aud": service.name,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", rand_suffix()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child.stdin.take().unwrap().write_all(signing_input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl dgst failed");
    format!("{signing_input}.{}", b64(&out.stdout))
}

fn rand_suffix() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
