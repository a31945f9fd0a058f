//! A real registry for tests: Debian's `docker-registry` (the CNCF distribution registry)
//! on 127.0.0.1 with a free port and its own storage, stopped when dropped. Images are
//! pushed into it with skopeo. Three setups: no authentication, htpasswd Basic
//! authentication, and Bearer tokens from the test's own [`TokenIssuer`].

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::token::{self, TokenIssuer};

/// The test account of the authenticated setups.
pub const USERNAME: &str = "imgprof-tester";
pub const PASSWORD: &str = "s3cret-Pa55word-never-shown";
pub const IDENTITY_TOKEN: &str = "identity-token-never-shown-0123456789";

/// How the registry asks clients to authenticate.
pub enum RegistryAuth {
    None,
    /// htpasswd (bcrypt) with [`USERNAME`] and [`PASSWORD`].
    Basic,
    /// `auth: token`: tokens from a [`TokenIssuer`] that knows [`USERNAME`],
    /// [`PASSWORD`] and [`IDENTITY_TOKEN`].
    Token,
    /// As Docker Hub's: tokens for `registry.docker.io` from the realm
    /// `https://auth.docker.io/token` (a TLS front for the issuer answers there),
    /// anonymous pulls of `library/*`.
    DockerHubToken,
}

pub struct TestRegistry {
    child: Child,
    pub port: u16,
    storage: tempfile::TempDir,
    /// The registry's log (its access log included), for assertions on requests.
    pub log: std::path::PathBuf,
    pub issuer: Option<TokenIssuer>,
    authenticated: bool,
}

impl TestRegistry {
    /// Starts an unauthenticated registry; `None` (with a note) when the binary is
    /// missing, unless tools are required.
    pub fn start() -> Option<TestRegistry> {
        TestRegistry::start_with(RegistryAuth::None)
    }

    pub fn start_with(auth: RegistryAuth) -> Option<TestRegistry> {
        TestRegistry::start_full(auth, None)
    }

    /// A registry that speaks only TLS, with the certificate `ca` issued.
    pub fn start_tls(auth: RegistryAuth, ca: &TestCa) -> Option<TestRegistry> {
        TestRegistry::start_full(auth, Some(ca))
    }

    fn start_full(auth: RegistryAuth, tls: Option<&TestCa>) -> Option<TestRegistry> {
        if !super::has_tool("docker-registry") || !super::has_tool("skopeo") {
            return None;
        }
        let storage = tempfile::tempdir().expect("temp dir");
        Some(TestRegistry::serve(storage, auth, tls))
    }

    /// Stops the registry and serves its storage again, now with `auth`: images pushed
    /// without authentication, then pulled as the test needs.
    pub fn restart_with(mut self, auth: RegistryAuth) -> TestRegistry {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let storage = std::mem::replace(&mut self.storage, tempfile::tempdir().expect("temp dir"));
        TestRegistry::serve(storage, auth, None)
    }

    fn serve(storage: tempfile::TempDir, auth: RegistryAuth, tls: Option<&TestCa>) -> TestRegistry {
        let port = free_port();
        let config = storage.path().join("config.yml");
        let mut issuer = None;
        let auth_section = match auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Basic => {
                let htpasswd = storage.path().join("htpasswd");
                let hash = bcrypt::hash(PASSWORD, 5).expect("bcrypt");
                std::fs::write(&htpasswd, format!("{USERNAME}:{hash}\n")).expect("htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: imgprof-test\n    path: {}\n",
                    htpasswd.display()
                )
            }
            RegistryAuth::Token | RegistryAuth::DockerHubToken => {
                let hub = matches!(auth, RegistryAuth::DockerHubToken);
                let service = if hub { token::DOCKER_HUB } else { token::TEST_SERVICE };
                let started = TokenIssuer::start(service, USERNAME, PASSWORD, IDENTITY_TOKEN);
                let realm = if hub {
                    format!("https://{}/token", super::hub::AUTH_HOST)
                } else {
                    started.realm()
                };
                let section = format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    service.name,
                    token::ISSUER,
                    started.cert.display()
                );
                issuer = Some(started);
                section
            }
        };
        let authenticated = !auth_section.is_empty();
        let tls_section = tls.map_or_else(String::new, |ca| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                ca.leaf_cert.display(),
                ca.leaf_key.display()
            )
        });
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{tls_section}{auth_section}",
                storage.path().join("data").display()
            ),
        )
        .expect("registry config");
        let log = storage.path().join("registry.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::from(log_file.try_clone().expect("log handle")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("docker-registry starts");
        let registry = TestRegistry {
            child,
            port,
            storage,
            log,
            issuer,
            authenticated,
        };
        registry.wait_ready();
        registry
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the registry's filesystem storage keeps its blobs: `sha256/AB/HEX/data`
    /// under this directory.
    pub fn blobs_dir(&self) -> std::path::PathBuf {
        self.storage.path().join("data/docker/registry/v2/blobs")
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {} within 20 s: {}",
            self.host(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Pushes an image (a skopeo source such as `oci:DIR:TAG`) as `repo:tag`; with
    /// `all`, every platform of an index.
    pub fn push(&self, source: &str, repo_tag: &str, all: bool) {
        let mut command = Command::new("skopeo");
        command.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if self.authenticated {
            command.arg(format!("--dest-creds={USERNAME}:{PASSWORD}"));
        }
        if all {
            command.arg("--all");
        }
        let out = command
            .arg(source)
            .arg(format!("docker://{}/{repo_tag}", self.host()))
            .output()
            .expect("skopeo runs");
        assert!(
            out.status.success(),
            "push {source}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Request lines of the access log that contain `needle`.
    pub fn requests(&self, needle: &str) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"GET ") || l.contains("\"HEAD ") || l.contains("\"PUT ") || l.contains("\"POST "))
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

/// A Docker `config.json` in a temp dir (point `DOCKER_CONFIG` at it) holding the test
/// account for `host`, as `auth` or as an identity token.
pub fn docker_config(host: &str, identity_token: bool, password: &str) -> tempfile::TempDir {
    use base64::Engine as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let entry = if identity_token {
        serde_json::json!({ "identitytoken": IDENTITY_TOKEN })
    } else {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{password}"));
        serde_json::json!({ "auth": auth })
    };
    let config = serde_json::json!({ "auths": { host: entry } });
    std::fs::write(dir.path().join("config.json"), config.to_string()).expect("config.json");
    dir
}

/// `imgprof report --json` with `DOCKER_CONFIG` pointing at `config` and no other
/// credential file in reach.
pub fn report_with_config(source: &str, config: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let empty = tempfile::tempdir().unwrap();
    let mut args = vec!["report", "--json", "--top", "1000"];
    args.extend_from_slice(extra);
    args.push(source);
    super::imgprof_with_env(
        &args,
        &[
            ("DOCKER_CONFIG", config.as_os_str()),
            ("REGISTRY_AUTH_FILE", empty.path().join("none.json").as_os_str()),
        ],
    )
}

/// Every form the test secrets could leak in.
pub fn secrets() -> Vec<String> {
    use base64::Engine as _;
    vec![
        PASSWORD.to_owned(),
        IDENTITY_TOKEN.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}")),
    ]
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port()
}

/// A test certificate authority and one server certificate it issued for `names` (and
/// 127.0.0.1), made with the `openssl` command.
pub struct TestCa {
    pub cert: std::path::PathBuf,
    pub leaf_cert: std::path::PathBuf,
    pub leaf_key: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCa {
    pub fn issue(names: &[&str]) -> TestCa {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = |name: &str| dir.path().join(name);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=imgprof test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=imgprof test registry",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
        ]);
        let mut alt: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        alt.push("IP:127.0.0.1".to_owned());
        std::fs::write(
            path("leaf.ext"),
            format!(
                "subjectAltName={}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
                alt.join(",")
            ),
        )
        .expect("extensions file");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ]);
        TestCa {
            cert: path("ca.pem"),
            leaf_cert: path("leaf.pem"),
            leaf_key: path("leaf.key"),
            _dir: dir,
        }
    }
}
