//! The scripted peer: the harness's side of the connection, one method per fault.
//!
//! It reads in the background into an inbox (a normal consumer) until told `stop_reading`;
//! `recv` takes from the inbox. Each method works around a turmoil trap, and each workaround
//! has a test in harness/tests/turmoil_traps.rs:
//! - a FIN sent while the receiver's queue is full is lost, so `eof` and `close` wait for a
//!   free credit (`writable`) first;
//! - a RST can only be sent by dropping a stream that holds unread data, so `reset` stops
//!   reading and refuses, with a message, when nothing is unread;
//! - `partition` and `fail_rate` stall streams for good, so stalls use `hold` / `release`.

use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use turmoil::net::TcpStream;

/// What the peer has received and not yet taken with `recv`.
#[derive(Default)]
pub struct Inbox {
    pub data: Vec<u8>,
    pub eof: bool,
    pub error: Option<io::ErrorKind>,
}

/// The read side: background reading into the inbox while `reading` is on.
pub struct PeerReader {
    half: Option<OwnedReadHalf>,
    pub inbox: Inbox,
    pub reading: bool,
    buf: Vec<u8>,
}

/// The write side.
pub struct PeerWriter {
    half: Option<OwnedWriteHalf>,
}

/// Splits a connected stream into the peer's two sides.
pub fn split(stream: TcpStream) -> (PeerReader, PeerWriter) {
    let (r, w) = stream.into_split();
    (PeerReader { half: Some(r), inbox: Inbox::default(), reading: true, buf: vec![0; 64 * 1024] }, PeerWriter { half: Some(w) })
}

impl PeerReader {
    fn can_read(&self) -> bool {
        self.reading && self.half.is_some() && !self.inbox.eof && self.inbox.error.is_none()
    }

    /// Runs `fut` to completion while reading in the background, as a live peer would.
    pub async fn drive<F: Future>(&mut self, fut: F) -> F::Output {
        tokio::pin!(fut);
        loop {
            if !self.can_read() {
                return fut.await;
            }
            let half = self.half.as_mut().expect("can_read checked it");
            tokio::select! {
                biased;
                out = &mut fut => return out,
                r = half.read(&mut self.buf) => match r {
                    Ok(0) => self.inbox.eof = true,
                    Ok(n) => self.inbox.data.extend_from_slice(&self.buf[..n]),
                    Err(e) => self.inbox.error = Some(e.kind()),
                },
            }
        }
    }

    /// Takes `n` bytes from the inbox, reading as needed (even while `stop_reading` is on:
    /// an explicit `recv` reads). Fewer at EOF: the caller reports IncompleteRead.
    pub async fn recv(&mut self, n: Option<usize>) -> Result<Vec<u8>, (Vec<u8>, Option<io::ErrorKind>)> {
        loop {
            let enough = n.is_some_and(|n| self.inbox.data.len() >= n);
            if enough {
                let n = n.expect("checked");
                return Ok(self.inbox.data.drain(..n).collect());
            }
            if self.inbox.eof || self.inbox.error.is_some() || self.half.is_none() {
                let all: Vec<u8> = self.inbox.data.drain(..).collect();
                return match (n, self.inbox.error) {
                    (None, None) => Ok(all),
                    (_, err) => Err((all, err)),
                };
            }
            let half = self.half.as_mut().expect("checked");
            match half.read(&mut self.buf).await {
                Ok(0) => self.inbox.eof = true,
                Ok(k) => self.inbox.data.extend_from_slice(&self.buf[..k]),
                Err(e) => self.inbox.error = Some(e.kind()),
            }
        }
    }

    /// Whether the socket holds bytes the peer has not read (so dropping it sends a RST).
    pub async fn has_unread(&mut self) -> bool {
        let Some(half) = self.half.as_mut() else { return false };
        let mut one = [0u8; 1];
        matches!(tokio::time::timeout(Duration::ZERO, half.peek(&mut one)).await, Ok(Ok(n)) if n > 0)
    }
}

impl PeerWriter {
    /// One write, one segment: turmoil never merges or splits writes.
    pub async fn send(&mut self, piece: &[u8]) -> io::Result<()> {
        match self.half.as_mut() {
            Some(w) => w.write_all(piece).await,
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "the peer already closed its side")),
        }
    }
}

/// Waits for a free send credit, so that a FIN sent next is not lost in a full queue.
async fn writable(reader: &mut PeerReader, writer: &mut PeerWriter) -> io::Result<()> {
    let (Some(r), Some(w)) = (reader.half.take(), writer.half.take()) else { return Ok(()) };
    let stream = r.reunite(w).map_err(|_| io::Error::other("peer halves do not match"))?;
    let ready = stream.writable().await;
    let (r, w) = stream.into_split();
    reader.half = Some(r);
    writer.half = Some(w);
    ready
}

/// Half-closes: a FIN after a free credit (the full-queue trap).
pub async fn eof(reader: &mut PeerReader, writer: &mut PeerWriter) -> io::Result<()> {
    writable(reader, writer).await?;
    match writer.half.as_mut() {
        Some(w) => w.shutdown().await,
        None => Ok(()),
    }
}

/// Closes both directions. A FIN, or a RST if unread data is left, as a real close does.
pub async fn close(reader: &mut PeerReader, writer: &mut PeerWriter) -> io::Result<()> {
    writable(reader, writer).await?;
    reader.half = None;
    writer.half = None;
    Ok(())
}

/// Aborts with a RST. turmoil sends one only when a stream holding unread data is dropped.
pub async fn reset(reader: &mut PeerReader, writer: &mut PeerWriter) -> Result<(), String> {
    reader.reading = false;
    if !reader.has_unread().await {
        return Err("turmoil can send a RST only by dropping a stream that holds unread data, and the peer has read \
                    everything: add `peer: stop_reading` before the subject's last write, then `peer: reset`"
            .into());
    }
    reader.half = None;
    writer.half = None;
    Ok(())
}
