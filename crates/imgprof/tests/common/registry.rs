//! A real registry for tests: Debian's `docker-registry` (the CNCF distribution registry)
//! on 127.0.0.1 with a free port and its own storage, stopped when dropped. Images are
//! pushed into it with skopeo.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestRegistry {
    child: Child,
    pub port: u16,
    _storage: tempfile::TempDir,
    /// The registry's log (its access log included), for assertions on requests.
    pub log: std::path::PathBuf,
}

impl TestRegistry {
    /// Starts an unauthenticated registry; `None` (with a note) when the binary is
    /// missing, unless tools are required.
    pub fn start() -> Option<TestRegistry> {
        if !super::has_tool("docker-registry") {
            return None;
        }
        let storage = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
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
            _storage: storage,
            log,
        };
        registry.wait_ready();
        Some(registry)
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
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
