//! Just enough HTTP/1.1 for one `GET` to a container engine's API: the response head, and
//! a body framed by `Content-Length`, chunked transfer encoding, or the connection's end.

use std::io::{self, BufRead, Read, Write};

/// Longest status or header line accepted; engine responses use short ones.
const MAX_LINE: u64 = 16 * 1024;
/// More headers than this is not an engine talking.
const MAX_HEADERS: usize = 128;

/// A response whose head has been read; `body` yields the decoded body bytes.
pub struct Response<R> {
    pub status: u16,
    pub reason: String,
    pub body: Body<R>,
}

/// Sends `GET path` on `stream` and reads the response head.
pub fn get<S: Read + Write>(mut stream: S, path: &str) -> io::Result<Response<io::BufReader<S>>> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: imgprof/{}\r\nAccept: application/x-tar, application/json\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    read_response(io::BufReader::with_capacity(1 << 20, stream))
}

/// Parses the status line and headers, skipping interim `1xx` responses.
pub fn read_response<R: BufRead>(mut reader: R) -> io::Result<Response<R>> {
    loop {
        let status_line = read_line(&mut reader)?;
        let (status, reason) = parse_status_line(&status_line)?;
        let mut chunked = false;
        let mut length = None;
        let mut headers = 0;
        loop {
            let line = read_line(&mut reader)?;
            if line.is_empty() {
                break;
            }
            headers += 1;
            if headers > MAX_HEADERS {
                return Err(invalid("too many response headers"));
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(invalid(format!("malformed header line {line:?}")));
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding") {
                // Chunked is always the last coding when present (RFC 9112 §6.1).
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
            } else if name.eq_ignore_ascii_case("content-length") {
                let n = value
                    .parse::<u64>()
                    .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?;
                length = Some(n);
            }
        }
        if (100..200).contains(&status) {
            continue;
        }
        let body = match (chunked, length) {
            (true, _) => Body::Chunked {
                reader,
                left_in_chunk: 0,
                done: false,
            },
            (false, Some(left)) => Body::Length { reader, left },
            (false, None) => Body::ToEnd(reader),
        };
        return Ok(Response { status, reason, body });
    }
}

fn parse_status_line(line: &str) -> io::Result<(u16, String)> {
    let bad = || invalid(format!("not an HTTP/1.x status line: {line:?}"));
    let rest = line.strip_prefix("HTTP/1.").ok_or_else(bad)?;
    let mut parts = rest.splitn(3, ' ');
    let _minor = parts.next().ok_or_else(bad)?;
    let code = parts.next().ok_or_else(bad)?;
    if code.len() != 3 {
        return Err(bad());
    }
    let status = code.parse::<u16>().map_err(|_| bad())?;
    Ok((status, parts.next().unwrap_or("").to_owned()))
}

/// One CRLF-terminated line without its terminator; EOF before it is an error.
fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut bytes = Vec::new();
    reader.take(MAX_LINE).read_until(b'\n', &mut bytes)?;
    if bytes.last() != Some(&b'\n') {
        return Err(if bytes.len() as u64 >= MAX_LINE {
            invalid("response line too long")
        } else {
            io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-response")
        });
    }
    bytes.pop();
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    String::from_utf8(bytes).map_err(|_| invalid("response head is not UTF-8"))
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// A response body, decoded from its framing. A body cut short is an error, not an EOF.
pub enum Body<R> {
    Length { reader: R, left: u64 },
    Chunked { reader: R, left_in_chunk: u64, done: bool },
    ToEnd(R),
}

impl<R: BufRead> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Body::ToEnd(reader) => reader.read(buf),
            Body::Length { reader, left } => {
                if *left == 0 || buf.is_empty() {
                    return Ok(0);
                }
                let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                let n = reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("connection closed with {left} bytes of the body still to come"),
                    ));
                }
                *left -= n as u64;
                Ok(n)
            }
            Body::Chunked {
                reader,
                left_in_chunk,
                done,
            } => {
                if *done || buf.is_empty() {
                    return Ok(0);
                }
                if *left_in_chunk == 0 {
                    let size = read_chunk_size(reader)?;
                    if size == 0 {
                        // Trailer fields, then the empty line that ends the message.
                        while !read_line(reader)?.is_empty() {}
                        *done = true;
                        return Ok(0);
                    }
                    *left_in_chunk = size;
                }
                let want = buf.len().min(usize::try_from(*left_in_chunk).unwrap_or(usize::MAX));
                let n = reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside a chunk",
                    ));
                }
                *left_in_chunk -= n as u64;
                if *left_in_chunk == 0 && !read_line(reader)?.is_empty() {
                    return Err(invalid("chunk not followed by CRLF"));
                }
                Ok(n)
            }
        }
    }
}

/// `1a2b;ext=1` → 0x1a2b.
fn read_chunk_size(reader: &mut impl BufRead) -> io::Result<u64> {
    let line = read_line(reader)?;
    let hex = line.split(';').next().unwrap_or("").trim();
    u64::from_str_radix(hex, 16).map_err(|_| invalid(format!("bad chunk size line {line:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(raw: &[u8]) -> io::Result<(u16, Vec<u8>)> {
        let mut response = read_response(raw)?;
        let mut body = Vec::new();
        response.body.read_to_end(&mut body)?;
        Ok((response.status, body))
    }

    #[test]
    fn content_length_bodies() {
        let raw = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(body_of(raw).unwrap(), (404, b"hello".to_vec()));
        let short = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello";
        assert_eq!(body_of(short).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn chunked_bodies_with_extensions_and_trailers() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n";
        assert_eq!(body_of(raw).unwrap(), (200, b"hello world".to_vec()));
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhello";
        assert!(body_of(cut).is_err());
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(body_of(bad).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn interim_responses_and_bodies_to_the_end() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nall of it";
        assert_eq!(body_of(raw).unwrap(), (200, b"all of it".to_vec()));
    }

    #[test]
    fn malformed_heads() {
        for raw in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        ] {
            assert_eq!(
                read_response(raw).err().map(|e| e.kind()),
                Some(io::ErrorKind::InvalidData)
            );
        }
        assert!(
            read_response(&b"HTTP/1.1 200 OK\r\n"[..]).is_err(),
            "EOF inside the head"
        );
    }
}
