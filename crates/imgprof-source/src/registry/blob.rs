//! A layer blob streamed from a registry that survives a broken connection: when the
//! stream fails, stalls or ends before the descriptor's size, it asks again for the rest
//! (`Range: bytes=N-`), or, when the server ignores ranges, skips what it already has.
//! It never yields more bytes than the descriptor's size, so a lying server cannot feed
//! the walk an endless stream.

use std::io::{self, Read};

use ureq::http::StatusCode;

use crate::digest::Digest;
use crate::registry::client::RegistryClient;
use crate::registry::http;

/// Consecutive breaks without a byte of progress before the stream is given up.
const MAX_RESUMES_WITHOUT_PROGRESS: u32 = 4;

pub struct BlobReader {
    client: RegistryClient,
    path: String,
    size: u64,
    received: u64,
    body: Option<Box<dyn Read + Send>>,
    resumes: u32,
}

impl BlobReader {
    pub fn open(client: RegistryClient, digest: Digest, size: u64) -> Result<BlobReader, crate::SourceError> {
        let mut reader = BlobReader {
            client,
            path: format!("/blobs/{digest}"),
            size,
            received: 0,
            body: None,
            resumes: 0,
        };
        reader.body = Some(reader.request()?);
        Ok(reader)
    }

    /// GETs the blob from `received` on.
    fn request(&self) -> Result<Box<dyn Read + Send>, crate::SourceError> {
        let from = self.received;
        let response = self.client.send(&self.path, None, (from > 0).then_some(from))?;
        let status = response.status();
        let partial = status == StatusCode::PARTIAL_CONTENT;
        if partial {
            let start = http::header(&response, "content-range")
                .and_then(|r| r.trim().strip_prefix("bytes "))
                .and_then(|r| r.split('-').next())
                .and_then(|s| s.parse::<u64>().ok());
            if start != Some(from) {
                return Err(crate::SourceError::invalid(
                    self.client.what(&self.path),
                    format!("asked to resume at byte {from}, the registry answered with range {start:?}"),
                ));
            }
        }
        let mut body: Box<dyn Read + Send> = Box::new(response.into_body().into_reader());
        if from > 0 && !partial {
            // The server sent the whole blob again: drop what was already read.
            let skipped =
                io::copy(&mut (&mut body).take(from), &mut io::sink()).map_err(|source| crate::SourceError::Io {
                    location: self.client.what(&self.path),
                    source,
                })?;
            if skipped < from {
                return Err(crate::SourceError::invalid(
                    self.client.what(&self.path),
                    "the blob ended early on a resumed download",
                ));
            }
        }
        Ok(body)
    }

    /// After a break: wait, then reopen (or give up with the break's error).
    fn resume(&mut self, error: io::Error) -> io::Result<()> {
        self.body = None;
        if self.resumes >= MAX_RESUMES_WITHOUT_PROGRESS {
            let reason = if http::is_timeout_io(&error) {
                http::describe_timeout(self.client.stall_timeout())
            } else {
                http::excerpt(&error.to_string(), 300)
            };
            return Err(io::Error::new(
                error.kind(),
                format!(
                    "{reason} (at byte {} of {}; gave up after {} resumed attempts)",
                    self.received, self.size, self.resumes
                ),
            ));
        }
        std::thread::sleep(self.client.retry_policy().delay(self.resumes, None));
        self.resumes += 1;
        self.body = Some(self.request().map_err(io::Error::other)?);
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(body) = self.body.as_mut() else {
                return Err(io::Error::other("the blob stream was abandoned after an error"));
            };
            let wanted = buf
                .len()
                .min(usize::try_from(self.size - self.received).unwrap_or(usize::MAX).max(1));
            match body.read(&mut buf[..wanted]) {
                Ok(0) if self.received < self.size => {
                    self.resume(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection closed early",
                    ))?;
                }
                Ok(0) => return Ok(0),
                Ok(n) => {
                    if self.received + n as u64 > self.size {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("the registry sent more than the descriptor's {} bytes", self.size),
                        ));
                    }
                    self.received += n as u64;
                    self.resumes = 0;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if http::is_retryable_io(&e) => self.resume(e)?,
                Err(e) => return Err(e),
            }
        }
    }
}
