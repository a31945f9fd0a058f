//! A fault-injecting HTTP proxy on loopback: real sockets between imgprof and a real
//! registry. For each request a plan decides: forward it, answer it itself (429, 503,
//! a redirect, a blob from disk), or forward it and break the response (reset after N
//! body bytes, stall, flip a byte, lie about the length), or misbehave at the HTTP level
//! (never answer, send raw bytes, a header that never ends). Every request is recorded
//! with whether it carried an `Authorization` header, so tests can assert where
//! credentials went. With `start_tls` the proxy speaks TLS to its client (a server
//! certificate from a test CA), as Docker Hub's hosts do; upstream stays plain.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::registry::TestCa;

/// A request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: bool,
    pub range: Option<String>,
    pub at: std::time::Instant,
}

/// What to do with one request.
pub enum Action {
    Forward,
    /// Answer without asking upstream.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Forward, then cut the connection after this many body bytes.
    ResetAfter(usize),
    /// Forward this many body bytes, then go silent (the connection stays open).
    StallAfter(usize),
    /// Forward with the body byte at this offset inverted.
    FlipByte(usize),
    /// Forward the head as is (its Content-Length included), send this many body bytes,
    /// then close the connection cleanly: a body shorter than announced.
    CutBody(usize),
    /// Forward the whole body but announce this Content-Length instead of the real one.
    AnnounceLength(u64),
    /// Forward the body with these bytes after it, the Content-Length grown to match:
    /// a body longer than the descriptor says.
    Append(Vec<u8>),
    /// Answer with this blob as a storage host would: the whole (200) or, for a
    /// `Range: bytes=N-` request, from N on (206); with `reset_after`, the connection is
    /// reset after that many body bytes.
    Serve {
        body: Vec<u8>,
        reset_after: Option<usize>,
    },
    /// Forward; when upstream answers 200 (or 206 to a Range), answer 307 to this location instead (as a
    /// registry whose storage redirects does, after it checked the request's token).
    RedirectIfOk(String),
    /// Read the request and never answer (the connection stays open for a minute).
    Hang,
    /// Write these bytes as the whole response, then close.
    Raw(Vec<u8>),
    /// A 200 whose head never ends: one header line of up to 256 MiB, written until the
    /// client hangs up.
    EndlessHeader,
    /// A 200 whose head comes one byte at a time, each after this pause, for ever (until
    /// the client hangs up): no single read waits long, the whole never arrives.
    TrickleHeader(Duration),
}

impl Action {
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Action {
        Action::Respond {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: Vec::new(),
        }
    }
}

/// Decides per request; the second argument counts earlier requests for the same path.
pub type Plan = dyn Fn(&Seen, usize) -> Action + Send + Sync;

pub struct FaultProxy {
    pub port: u16,
    pub host_ip: &'static str,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FaultProxy {
    /// Listens on `host_ip` (any 127.x address) and forwards to `upstream` (`host:port`,
    /// or `None` for a server that only answers from its plan).
    pub fn start(host_ip: &'static str, upstream: Option<String>, plan: Box<Plan>) -> FaultProxy {
        FaultProxy::listen(host_ip, upstream, plan, None)
    }

    /// As `start`, speaking TLS with the server certificate `ca` issued.
    pub fn start_tls(host_ip: &'static str, upstream: Option<String>, plan: Box<Plan>, ca: &TestCa) -> FaultProxy {
        FaultProxy::listen(host_ip, upstream, plan, Some(server_config(ca)))
    }

    fn listen(
        host_ip: &'static str,
        upstream: Option<String>,
        plan: Box<Plan>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> FaultProxy {
        let listener = TcpListener::bind((host_ip, 0)).expect("a free loopback port");
        let port = listener.local_addr().expect("address").port();
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let plan: Arc<Plan> = Arc::from(plan);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (plan, log, upstream) = (Arc::clone(&plan), Arc::clone(&log), upstream.clone());
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let _ = match tls {
                        None => handle(stream, upstream.as_deref(), &*plan, &log),
                        Some(config) => match rustls::ServerConnection::new(config) {
                            Ok(server) => handle(
                                rustls::StreamOwned::new(server, stream),
                                upstream.as_deref(),
                                &*plan,
                                &log,
                            ),
                            Err(e) => Err(std::io::Error::other(e)),
                        },
                    };
                });
            }
        });
        FaultProxy { port, host_ip, seen }
    }

    pub fn host(&self) -> String {
        format!("{}:{}", self.host_ip, self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn server_config(ca: &TestCa) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&ca.leaf_cert)
        .expect("the leaf certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificates");
    let key = PrivateKeyDer::from_pem_file(&ca.leaf_key).expect("the leaf key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a server certificate");
    Arc::new(config)
}

/// A client connection, plain or TLS: what `handle` reads from and writes to.
trait Conn: Read + Write {
    fn tcp(&self) -> &TcpStream;
    /// Ends the response cleanly (with TLS, close_notify first).
    fn close(&mut self) -> std::io::Result<()>;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
    fn close(&mut self) -> std::io::Result<()> {
        self.shutdown(Shutdown::Both)
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
    fn close(&mut self) -> std::io::Result<()> {
        self.conn.send_close_notify();
        self.flush()?;
        self.sock.shutdown(Shutdown::Both)
    }
}

/// Closes with a TCP reset (RST), as a dropped connection looks, rather than a FIN.
fn reset(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a correctly sized `linger` value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn handle(client: impl Conn, upstream: Option<&str>, plan: &Plan, log: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client);
    let mut head = Vec::new();
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let (mut authorization, mut range, mut body_length) = (false, None, 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") {
            continue;
        }
        if lower.starts_with("authorization:") {
            authorization = true;
        }
        if lower.starts_with("range:") {
            range = line.split_once(':').map(|(_, v)| v.trim().to_owned());
        }
        if let Some(value) = lower.strip_prefix("content-length:") {
            body_length = value.trim().parse().unwrap_or(0);
        }
        head.extend_from_slice(line.as_bytes());
    }
    // A request body (the OAuth2 token POST) goes upstream with the head.
    let mut request_body = vec![0; body_length];
    reader.read_exact(&mut request_body)?;
    let seen = Seen {
        method: method.clone(),
        path: path.clone(),
        authorization,
        range,
        at: std::time::Instant::now(),
    };
    let earlier = {
        let mut log = log.lock().unwrap();
        let earlier = log.iter().filter(|s| s.path == path).count();
        log.push(seen.clone());
        earlier
    };
    let client = reader.get_mut();
    let action = plan(&seen, earlier);
    match &action {
        Action::Hang => {
            std::thread::sleep(Duration::from_secs(60));
            return Ok(());
        }
        Action::Raw(bytes) => {
            client.write_all(bytes)?;
            return client.close();
        }
        Action::EndlessHeader => {
            client.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Endless: ")?;
            let chunk = [b'a'; 64 << 10];
            for _ in 0..(256 << 20) / chunk.len() {
                client.write_all(&chunk)?;
            }
            return client.close();
        }
        Action::TrickleHeader(pause) => {
            client.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ")?;
            for _ in 0..100_000 {
                std::thread::sleep(*pause);
                client.write_all(b"a")?;
            }
            return client.close();
        }
        _ => {}
    }
    if let Action::Respond { status, headers, body } = &action {
        let mut response = format!(
            "HTTP/1.1 {status} Fault\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            response.push_str(&format!("{k}: {v}\r\n"));
        }
        response.push_str("\r\n");
        client.write_all(response.as_bytes())?;
        client.write_all(body)?;
        return client.close();
    }
    if let Action::Serve { body, reset_after } = &action {
        return serve_blob(client, seen.range.as_deref(), body, *reset_after);
    }
    let Some(upstream) = upstream else {
        client.write_all(b"HTTP/1.1 502 No Upstream\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    };
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(request_line.as_bytes())?;
    server.write_all(&head)?;
    server.write_all(b"Connection: close\r\n\r\n")?;
    server.write_all(&request_body)?;
    let mut server = BufReader::new(server);
    if let Action::RedirectIfOk(location) = &action {
        let mut status = String::new();
        server.read_line(&mut status)?;
        if matches!(status.split_whitespace().nth(1), Some("200" | "206")) {
            write!(
                client,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return client.close();
        }
        client.write_all(status.as_bytes())?;
    }
    // The response head, with `Connection: close` so the client opens a new connection
    // for its next request (the proxy serves one request per connection).
    loop {
        let mut line = String::new();
        if server.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            client.write_all(b"Connection: close\r\n\r\n")?;
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") {
            continue;
        }
        if let Some(value) = lower.strip_prefix("content-length:") {
            let real: u64 = value.trim().parse().unwrap_or(0);
            match &action {
                Action::AnnounceLength(announced) => {
                    client.write_all(format!("Content-Length: {announced}\r\n").as_bytes())?;
                    continue;
                }
                Action::Append(extra) => {
                    client.write_all(format!("Content-Length: {}\r\n", real + extra.len() as u64).as_bytes())?;
                    continue;
                }
                _ => {}
            }
        }
        client.write_all(line.as_bytes())?;
    }
    let mut sent = 0usize;
    let mut buf = [0u8; 8192];
    loop {
        let n = server.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &mut buf[..n];
        match action {
            Action::ResetAfter(limit) | Action::StallAfter(limit) if sent + n >= limit => {
                client.write_all(&chunk[..limit - sent])?;
                client.flush()?;
                if matches!(action, Action::StallAfter(_)) {
                    std::thread::sleep(Duration::from_secs(20));
                    return client.close();
                }
                // Let the client read what was sent: a reset discards unread data.
                std::thread::sleep(Duration::from_millis(300));
                reset(client.tcp());
                return Ok(());
            }
            Action::FlipByte(offset) if (sent..sent + n).contains(&offset) => {
                chunk[offset - sent] ^= 0xff;
            }
            Action::CutBody(limit) if sent + n >= limit => {
                client.write_all(&chunk[..limit - sent])?;
                return client.close();
            }
            _ => {}
        }
        client.write_all(chunk)?;
        sent += n;
    }
    if let Action::Append(extra) = &action {
        client.write_all(extra)?;
    }
    client.close()
}

/// `Action::Serve`: the blob, or the part a `Range: bytes=N-` asks for.
fn serve_blob(
    client: &mut impl Conn,
    range: Option<&str>,
    body: &[u8],
    reset_after: Option<usize>,
) -> std::io::Result<()> {
    let from = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    let (status, part) = match from {
        Some(from) if from < body.len() => (
            format!(
                "206 Partial Content\r\nContent-Range: bytes {from}-{}/{}",
                body.len() - 1,
                body.len()
            ),
            &body[from..],
        ),
        Some(_) => ("416 Range Not Satisfiable".to_owned(), &body[..0]),
        None => ("200 OK".to_owned(), body),
    };
    write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        part.len()
    )?;
    match reset_after {
        Some(limit) if limit < part.len() => {
            client.write_all(&part[..limit])?;
            client.flush()?;
            std::thread::sleep(Duration::from_millis(300));
            reset(client.tcp());
            Ok(())
        }
        _ => {
            client.write_all(part)?;
            client.close()
        }
    }
}
