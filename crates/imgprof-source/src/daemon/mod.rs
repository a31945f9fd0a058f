//! Images held by a local container engine: `docker-daemon:NAME[:TAG]` and `podman:NAME`.
//!
//! The image is exported with the Engine API's `GET /images/{name}/get`, a docker-archive.
//! Its `manifest.json` usually comes last, so nothing can be analysed before the whole
//! stream is in: it is spooled to a temporary file (deleted with the `Image`) and opened
//! with the docker-archive reader.

mod http;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::SourceError;
use crate::files::SourceFiles;
use crate::local::{LocalRef, open_docker_archive};
use crate::platform::Platform;
use crate::{Image, PlatformEntry, SourceKind};

/// The Engine API version imgprof asks for (Docker 20.10+, podman 3+).
const API_VERSION: &str = "v1.41";
/// Docker's default port for an unencrypted `tcp://` host.
const DOCKER_TCP_PORT: u16 = 2375;
/// How long a read may wait: podman sends nothing until it has written the whole export
/// to its own temporary file.
const READ_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest error body read for its message.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// `docker-daemon:NAME[:TAG]` or `podman:NAME` as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonRef {
    pub kind: SourceKind,
    /// The image as the engine names it: `app`, `app:1.4`, `localhost/app`, an image ID.
    pub name: String,
}

/// The image name after an engine's prefix (`docker-daemon:`, `podman:`, `containerd:`
/// in `arg`), if it is one an engine could hold.
pub(crate) fn engine_image_name(arg: &str, name: &str) -> Result<String, SourceError> {
    if name.is_empty() {
        return Err(SourceError::invalid(arg, "no image name after the prefix"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(SourceError::invalid(arg, "an image name has no white space"));
    }
    Ok(name.to_owned())
}

impl DaemonRef {
    /// `Some` for arguments with a daemon prefix (an error if the name is unusable).
    pub(crate) fn parse(arg: &str) -> Option<Result<DaemonRef, SourceError>> {
        let (kind, name) = match arg.split_once(':')? {
            ("docker-daemon", name) => (SourceKind::DockerDaemon, name),
            ("podman", name) => (SourceKind::Podman, name),
            _ => return None,
        };
        Some(engine_image_name(arg, name).map(|name| DaemonRef { kind, name }))
    }

    fn engine(&self) -> &'static str {
        match self.kind {
            SourceKind::Podman => "podman",
            _ => "the Docker daemon",
        }
    }

    fn cli(&self) -> &'static str {
        match self.kind {
            SourceKind::Podman => "podman",
            _ => "docker",
        }
    }

    /// Where the engine listens, from the environment as its own CLI reads it.
    fn endpoint(&self) -> Result<Endpoint, SourceError> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        match self.kind {
            SourceKind::Podman => podman_endpoint(var("CONTAINER_HOST").as_deref(), var("XDG_RUNTIME_DIR").as_deref()),
            _ => docker_endpoint(var("DOCKER_HOST").as_deref()),
        }
    }
}

impl fmt::Display for DaemonRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// An engine's API socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    /// `host:port` on loopback.
    Tcp(String),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

fn docker_endpoint(docker_host: Option<&str>) -> Result<Endpoint, SourceError> {
    match docker_host {
        Some(host) => parse_host("DOCKER_HOST", host),
        None => Ok(Endpoint::Unix("/var/run/docker.sock".into())),
    }
}

/// `CONTAINER_HOST`, else the rootless socket, else the rootful one; of the last two the
/// first that exists (rootful podman runs with `XDG_RUNTIME_DIR` set too).
fn podman_endpoint(container_host: Option<&str>, runtime_dir: Option<&str>) -> Result<Endpoint, SourceError> {
    if let Some(host) = container_host {
        return parse_host("CONTAINER_HOST", host);
    }
    let rootful = PathBuf::from("/run/podman/podman.sock");
    let rootless = runtime_dir.map(|dir| Path::new(dir).join("podman/podman.sock"));
    let path = match rootless {
        Some(path) if path.exists() || !rootful.exists() => path,
        _ => rootful,
    };
    Ok(Endpoint::Unix(path))
}

/// `unix:///PATH`, or `tcp://HOST[:PORT]` when HOST is this machine (imgprof speaks no TLS
/// and sends nothing off the machine).
fn parse_host(variable: &str, value: &str) -> Result<Endpoint, SourceError> {
    let what = format!("{variable}={value}");
    if let Some(path) = value.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(SourceError::invalid(
                what,
                "a unix socket needs an absolute path (unix:///PATH)",
            ));
        }
        return Ok(Endpoint::Unix(path.into()));
    }
    if let Some(rest) = value.strip_prefix("tcp://") {
        let authority = rest.trim_end_matches('/');
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && !port.contains(']') => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| SourceError::invalid(&what, format!("bad port {port:?}")))?;
                (host, port)
            }
            _ => (authority, DOCKER_TCP_PORT),
        };
        if !matches!(host, "localhost" | "[::1]") && !host.starts_with("127.") {
            return Err(SourceError::invalid(
                what,
                "only an engine on this machine is supported (unix:///PATH, or tcp:// on 127.0.0.1 or localhost); \
                 export the image there with `docker save -o image.tar NAME` and report on the file",
            ));
        }
        return Ok(Endpoint::Tcp(format!("{host}:{port}")));
    }
    Err(SourceError::invalid(
        what,
        "unsupported scheme; use unix:///PATH or tcp://127.0.0.1:PORT",
    ))
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

fn connect(endpoint: &Endpoint) -> io::Result<Box<dyn Stream>> {
    Ok(match endpoint {
        Endpoint::Unix(path) => {
            let stream = UnixStream::connect(path)?;
            stream.set_read_timeout(Some(READ_TIMEOUT))?;
            Box::new(stream)
        }
        Endpoint::Tcp(addr) => {
            let stream = TcpStream::connect(addr.as_str())?;
            stream.set_read_timeout(Some(READ_TIMEOUT))?;
            Box::new(stream)
        }
    })
}

/// Percent-encodes an image name for the request path; `/`, `:` and `@` stay as they are,
/// as the engines route `{name:.*}`.
fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(crate) fn open_daemon(daemon: &DaemonRef, platform: Option<&Platform>) -> Result<Image, SourceError> {
    let endpoint = daemon.endpoint()?;
    let spool = export(daemon, &endpoint)?;
    let what = daemon.to_string();
    let files = SourceFiles::open_spooled(spool, what.clone())
        .map_err(|e| SourceError::invalid(&what, format!("{endpoint} did not send a docker-archive ({e})")))?;
    let archive = LocalRef {
        path: PathBuf::from(&what),
        tag: None,
        transport: Some(SourceKind::DockerArchive),
    };
    let mut image = open_docker_archive(files, &archive, platform)?;
    image.source.kind = daemon.kind;
    Ok(image)
}

/// The one image a daemon source names (for `imgprof platforms`).
pub(crate) fn list_platforms(daemon: &DaemonRef) -> Result<Vec<PlatformEntry>, SourceError> {
    let image = open_daemon(daemon, None)?;
    Ok(vec![PlatformEntry::image(
        image.config.platform(),
        image.config_digest,
        image.source.tag,
    )])
}

/// Streams the engine's export of the image into a new temporary file.
fn export(daemon: &DaemonRef, endpoint: &Endpoint) -> Result<tempfile::TempPath, SourceError> {
    let what = daemon.to_string();
    let stream = connect(endpoint).map_err(|source| SourceError::DaemonUnreachable {
        engine: daemon.engine().to_owned(),
        endpoint: endpoint.to_string(),
        hint: match daemon.kind {
            SourceKind::Podman => {
                "start it with `podman system service --time=0`, or point CONTAINER_HOST at its socket"
            }
            _ => "start it, or point DOCKER_HOST at its socket: unix:///PATH",
        }
        .to_owned(),
        source,
    })?;
    let failed = |source: io::Error| SourceError::Io {
        location: format!("{what} from {endpoint}"),
        source,
    };
    let path = format!("/{API_VERSION}/images/{}/get", encode_name(&daemon.name));
    let mut response = http::get(stream, &path).map_err(failed)?;
    if response.status != 200 {
        let mut body = Vec::new();
        // The status line already says what went wrong if the body cannot be read.
        let _ = (&mut response.body).take(MAX_ERROR_BODY).read_to_end(&mut body);
        let message = error_message(&body).unwrap_or_else(|| response.reason.clone());
        return Err(if response.status == 404 {
            SourceError::DaemonImageNotFound {
                image: what,
                endpoint: endpoint.to_string(),
                message,
                cli: daemon.cli().to_owned(),
            }
        } else {
            SourceError::invalid(
                what,
                format!("{endpoint} answered {} {}: {message}", response.status, response.reason),
            )
        });
    }
    let mut spool = tempfile::Builder::new()
        .prefix("imgprof-daemon-")
        .suffix(".tar")
        .tempfile()
        .map_err(|e| SourceError::io(&std::env::temp_dir(), e))?;
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = match response.body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(e)),
        };
        spool
            .as_file_mut()
            .write_all(&buffer[..n])
            .map_err(|e| SourceError::io(spool.path(), e))?;
    }
    Ok(spool.into_temp_path())
}

/// The Engine API's `{"message": "..."}`, or the body as text.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct EngineError {
        message: String,
    }
    if let Ok(e) = serde_json::from_slice::<EngineError>(body) {
        return Some(e.message);
    }
    let text = String::from_utf8_lossy(body).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(arg: &str) -> Option<Result<DaemonRef, SourceError>> {
        DaemonRef::parse(arg)
    }

    #[test]
    fn prefixes() {
        let d = parsed("docker-daemon:app:1.4").unwrap().unwrap();
        assert_eq!((d.kind, d.name.as_str()), (SourceKind::DockerDaemon, "app:1.4"));
        assert_eq!(d.to_string(), "docker-daemon:app:1.4");
        let p = parsed("podman:localhost/app").unwrap().unwrap();
        assert_eq!((p.kind, p.name.as_str()), (SourceKind::Podman, "localhost/app"));
        assert!(parsed("app.tar").is_none());
        assert!(parsed("localhost:5000/app").is_none());
        assert!(parsed("podman:").unwrap().is_err());
        assert!(parsed("docker-daemon:a b").unwrap().is_err());
    }

    #[test]
    fn docker_hosts() {
        let unix = |p: &str| Endpoint::Unix(p.into());
        assert_eq!(docker_endpoint(None).unwrap(), unix("/var/run/docker.sock"));
        assert_eq!(
            docker_endpoint(Some("unix:///tmp/d.sock")).unwrap(),
            unix("/tmp/d.sock")
        );
        assert_eq!(
            docker_endpoint(Some("tcp://127.0.0.1:2375")).unwrap(),
            Endpoint::Tcp("127.0.0.1:2375".into())
        );
        assert_eq!(
            docker_endpoint(Some("tcp://localhost")).unwrap(),
            Endpoint::Tcp("localhost:2375".into())
        );
        assert_eq!(
            docker_endpoint(Some("tcp://[::1]:23")).unwrap(),
            Endpoint::Tcp("[::1]:23".into())
        );
        for (bad, why) in [
            ("tcp://10.0.0.2:2375", "only an engine on this machine"),
            ("tcp://build.example.com", "only an engine on this machine"),
            ("ssh://me@host", "unsupported scheme"),
            ("unix://docker.sock", "absolute path"),
            ("tcp://127.0.0.1:x", "bad port"),
        ] {
            let message = docker_endpoint(Some(bad)).unwrap_err().to_string();
            assert!(message.contains(why) && message.contains(bad), "{bad}: {message}");
        }
    }

    #[test]
    fn podman_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().to_str().unwrap();
        assert_eq!(
            podman_endpoint(Some("unix:///x/p.sock"), Some(runtime)).unwrap(),
            Endpoint::Unix("/x/p.sock".into())
        );
        let rootless = dir.path().join("podman/podman.sock");
        std::fs::create_dir_all(rootless.parent().unwrap()).unwrap();
        std::fs::write(&rootless, b"").unwrap();
        assert_eq!(podman_endpoint(None, Some(runtime)).unwrap(), Endpoint::Unix(rootless));
        if !Path::new("/run/podman/podman.sock").exists() {
            assert_eq!(
                podman_endpoint(None, None).unwrap(),
                Endpoint::Unix("/run/podman/podman.sock".into())
            );
        }
    }

    #[test]
    fn names_are_encoded_for_the_path() {
        assert_eq!(encode_name("localhost/app:1.4"), "localhost/app:1.4");
        assert_eq!(encode_name("a b?#%"), "a%20b%3F%23%25");
    }

    #[test]
    fn engine_error_messages() {
        let podman = br#"{"cause":"image not known","message":"failed to find image nope","response":404}"#;
        assert_eq!(error_message(podman).as_deref(), Some("failed to find image nope"));
        assert_eq!(error_message(b"page not found\n").as_deref(), Some("page not found"));
        assert_eq!(error_message(b""), None);
    }
}
