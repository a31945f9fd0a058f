//! A throwaway Debian `docker-registry` on loopback for the benchmarks: started on a free
//! port with its storage in a temp dir, filled with `skopeo copy`, killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::run;

pub struct LoopbackRegistry {
    child: Child,
    port: u16,
    storage: PathBuf,
}

impl LoopbackRegistry {
    pub fn start() -> Result<LoopbackRegistry> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let storage = std::env::temp_dir().join(format!("imgprof-bench-registry-{}", std::process::id()));
        std::fs::create_dir_all(&storage)?;
        let config = storage.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    \
                 rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.join("data").display()
            ),
        )?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting docker-registry")?;
        let registry = LoopbackRegistry { child, port, storage };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("docker-registry did not listen on 127.0.0.1:{port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(registry)
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes a skopeo source (`docker-archive:FILE`, `oci:DIR:TAG`) as `repo_tag`;
    /// returns the reference.
    pub fn push(&self, source: &str, repo_tag: &str) -> Result<String> {
        let reference = format!("{}/{repo_tag}", self.host());
        run(Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(source)
            .arg(format!("docker://{reference}")))?;
        Ok(reference)
    }
}

impl Drop for LoopbackRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}
