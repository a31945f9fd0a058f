//! A real container engine for tests: Debian's podman serving its Docker-compatible API
//! (`podman system service`) on a unix socket in a temporary directory, with its own
//! storage (vfs), run root and runtime directory there too, killed when dropped. The
//! machine's own podman storage is never used.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct TestPodman {
    service: Child,
    dir: tempfile::TempDir,
    pub socket: PathBuf,
    /// The service's output, shown when it does not come up.
    log: PathBuf,
}

impl TestPodman {
    /// Loads `archives` (docker-archives, with `podman load`) into fresh storage and starts
    /// the API service on them; `None` (with a note) when podman is missing, unless tools
    /// are required.
    pub fn start(archives: &[&str]) -> Option<TestPodman> {
        if !super::has_tool("podman") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["xdg", "config", "data", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("podman directories");
        }
        // podman insists on a storage.conf that names the driver and run root.
        std::fs::write(
            dir.path().join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{0}/runroot\"\ngraphroot = \"{0}/root\"\n",
                dir.path().display()
            ),
        )
        .expect("storage.conf");
        let socket = dir.path().join("podman.sock");
        let log = dir.path().join("service.log");
        for archive in archives {
            let out = podman(dir.path())
                .args(["load", "--quiet", "-i", archive])
                .output()
                .expect("podman runs");
            assert!(
                out.status.success(),
                "podman load {archive}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let log_file = std::fs::File::create(&log).expect("log file");
        let service = podman(dir.path())
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::from(log_file.try_clone().expect("log handle")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("podman system service starts");
        let podman = TestPodman {
            service,
            dir,
            socket,
            log,
        };
        podman.wait_ready();
        Some(podman)
    }

    /// `unix://<socket>`, for DOCKER_HOST and CONTAINER_HOST.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// imgprof with both engines' variables pointing at this service and its temporary
    /// files going to `tmp`, so a test can see that none is left behind.
    pub fn imgprof(&self, args: &[&str], tmp: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_imgprof"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("DOCKER_HOST", self.host())
            .env("CONTAINER_HOST", self.host())
            .env("TMPDIR", tmp)
            .output()
            .expect("the imgprof binary runs")
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "podman system service did not listen on {} within 30 s (in {}): {}",
            self.socket.display(),
            self.dir.path().display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for TestPodman {
    fn drop(&mut self) {
        let _ = self.service.kill();
        let _ = self.service.wait();
    }
}

/// podman confined to `dir`: storage, run root, temporary files, events, runtime and
/// configuration directories all inside it; cgroupfs, as no systemd runs here.
fn podman(dir: &Path) -> Command {
    let mut command = Command::new("podman");
    command
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("runroot"))
        .arg("--tmpdir")
        .arg(dir.join("tmp"))
        .args([
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
        ])
        .env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"))
        .env("XDG_RUNTIME_DIR", dir.join("xdg"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("TMPDIR", dir.join("tmp"))
        .stdin(Stdio::null());
    command
}
