//! A reader moved to a thread of its own: it reads ahead into a few buffers while the
//! consumer works on the last one, so the stages of one layer (hash the blob, inflate,
//! hash and walk the tar) run on different cores instead of one after another.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

/// Bytes per buffer handed over: large enough that handing over costs nothing next to
/// inflating or hashing it, small enough to stay in cache.
const CHUNK: usize = 128 << 10;
/// Buffers in flight per stage: memory is bounded by `CHUNK * (IN_FLIGHT + 2)`.
const IN_FLIGHT: usize = 4;

/// The consumer's end: reads what the thread read, in order, then its error or the end.
pub(crate) struct Piped {
    chunks: Receiver<io::Result<Vec<u8>>>,
    /// Emptied buffers go back to the producer.
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    ended: bool,
}

/// Runs `inner` on a thread of `scope`, reading it to its end (or first error) ahead of
/// the returned reader. The thread gives `inner` back when it stops: at the end, after an
/// error, or once the reader is dropped.
pub(crate) fn spawn<'scope, 'env, R: Read + Send + 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    mut inner: R,
) -> (Piped, ScopedJoinHandle<'scope, R>) {
    let (send, chunks) = sync_channel::<io::Result<Vec<u8>>>(IN_FLIGHT);
    let (recycle, returned) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
    let thread = scope.spawn(move || {
        loop {
            let mut buffer = match returned.try_recv() {
                Ok(buffer) => buffer,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => Vec::with_capacity(CHUNK),
            };
            buffer.resize(CHUNK, 0);
            let (n, error) = fill(&mut inner, &mut buffer);
            buffer.truncate(n);
            if n > 0 && send.send(Ok(buffer)).is_err() {
                break;
            }
            match error {
                Some(error) => {
                    let _ = send.send(Err(error));
                    break;
                }
                None if n == 0 => break,
                None => {}
            }
        }
        inner
    });
    let piped = Piped {
        chunks,
        recycle,
        current: Vec::new(),
        at: 0,
        ended: false,
    };
    (piped, thread)
}

/// Reads into `buffer` until it is full, `inner` ends or fails: the bytes read, and the
/// error that stopped it (handed over after those bytes).
fn fill(inner: &mut impl Read, buffer: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buffer.len() {
        match inner.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return (filled, Some(error)),
        }
    }
    (filled, None)
}

impl Piped {
    /// Makes the next buffer current once the last is used up; false at the end.
    fn next_chunk(&mut self) -> io::Result<bool> {
        while self.at == self.current.len() {
            if self.ended {
                return Ok(false);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    let done = std::mem::replace(&mut self.current, chunk);
                    self.at = 0;
                    let _ = self.recycle.try_send(done);
                }
                Ok(Err(error)) => {
                    self.ended = true;
                    return Err(error);
                }
                // The producer stopped at the end.
                Err(_) => {
                    self.ended = true;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

impl Read for Piped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.next_chunk()? {
            return Ok(0);
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The buffers handed over are the buffer: a decoder reads them without another copy.
impl BufRead for Piped {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if !self.next_chunk()? {
            return Ok(&[]);
        }
        Ok(&self.current[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.current.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails after `ok` bytes.
    struct FailsAfter {
        ok: usize,
        given: usize,
    }

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.given >= self.ok {
                return Err(io::Error::other("broken"));
            }
            let n = buf.len().min(self.ok - self.given).min(1000);
            buf[..n].fill(7);
            self.given += n;
            Ok(n)
        }
    }

    #[test]
    fn bytes_come_through_in_order_and_the_reader_comes_back() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let (out, back) = std::thread::scope(|scope| {
            let (mut piped, thread) = spawn(scope, &data[..]);
            let mut out = Vec::new();
            piped.read_to_end(&mut out).expect("read");
            (out, thread.join().expect("joined"))
        });
        assert_eq!(out, data);
        assert!(back.is_empty(), "read to its end");
    }

    #[test]
    fn an_error_arrives_after_the_bytes_before_it() {
        let (read, error) = std::thread::scope(|scope| {
            let (mut piped, _thread) = spawn(scope, FailsAfter { ok: 300_000, given: 0 });
            let mut out = Vec::new();
            let error = piped.read_to_end(&mut out).expect_err("the error");
            (out.len(), error)
        });
        assert_eq!(read, 300_000);
        assert_eq!(error.to_string(), "broken");
    }

    #[test]
    fn a_dropped_reader_stops_the_thread() {
        let endless = io::repeat(1);
        std::thread::scope(|scope| {
            let (mut piped, thread) = spawn(scope, endless);
            let mut some = [0u8; 10];
            piped.read_exact(&mut some).expect("read");
            drop(piped);
            thread.join().expect("stopped");
        });
    }
}
