//! The scripted peer: the harness's side of the connection, one verb per fault, the same in
//! every world. Where worlds differ (how a FIN, a RST or a stall is made), the verb asks the
//! world's [`Link`] or [`World`].
//!
//! The peer reads in the background into an inbox (a normal consumer) while the director waits
//! on anything ([`Peer::drive`]), until told `stop_reading`; `recv` takes from the inbox.

use super::world::{Link, World};
use bytes::Bytes;
use std::future::Future;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

/// What the peer has received and not yet taken with `recv`.
#[derive(Default)]
pub struct Inbox {
    pub data: bytes::BytesMut,
    pub eof: bool,
    pub error: Option<io::ErrorKind>,
}

/// Something the peer does to the connection, kept back while it withholds (`hold` on a world
/// that cannot stall its network).
enum Deferred {
    Piece(Bytes),
    Eof,
    Close,
    Reset,
}

/// The peer's connection and what it has seen.
pub struct Peer {
    read: Option<ReadHalf<Box<dyn Link>>>,
    write: Option<WriteHalf<Box<dyn Link>>>,
    pub inbox: Inbox,
    reading: bool,
    /// `Some` while withholding: what `release` will do, in order.
    withheld: Option<Vec<Deferred>>,
}

/// How a peer verb went: a line for the transcript, or a failure the run cannot go past.
pub type Played = Result<String, String>;

impl Peer {
    pub fn new(link: Box<dyn Link>) -> Peer {
        let (r, w) = tokio::io::split(link);
        Peer { read: Some(r), write: Some(w), inbox: Inbox::default(), reading: true, withheld: None }
    }

    fn can_read(&self) -> bool {
        self.reading && self.withheld.is_none() && self.read.is_some() && !self.inbox.eof && self.inbox.error.is_none()
    }

    /// Runs `fut` to completion while reading in the background, as a live peer would.
    pub async fn drive<F: Future>(&mut self, fut: F) -> F::Output {
        let reading = self.can_read();
        read_while(&mut self.read, &mut self.inbox, reading, fut).await
    }

    /// Takes `n` bytes from the inbox (all up to EOF with `None`), reading as needed, even while
    /// `stop_reading` is on: an explicit `recv` reads. `Err` carries what arrived before EOF.
    pub async fn recv(&mut self, n: Option<usize>) -> Result<Bytes, (Bytes, Option<io::ErrorKind>)> {
        loop {
            if let Some(n) = n.filter(|&n| self.inbox.data.len() >= n) {
                return Ok(self.inbox.data.split_to(n).freeze());
            }
            let Some(half) = self.read.as_mut().filter(|_| !self.inbox.eof && self.inbox.error.is_none()) else {
                let all = self.inbox.data.split().freeze();
                return match (n, self.inbox.error) {
                    (None, None) => Ok(all),
                    (_, err) => Err((all, err)),
                };
            };
            let r = read_into(half, &mut self.inbox.data).await;
            take(&mut self.inbox, r);
        }
    }

    /// Writes one piece as one write (one segment in the simulation), reading in the background
    /// meanwhile, then waits until it has reached the subject's host. While withholding, keeps it
    /// for `release`.
    pub async fn send_piece(&mut self, piece: Bytes) -> io::Result<()> {
        if let Some(queue) = self.withheld.as_mut() {
            queue.push(Deferred::Piece(piece));
            return Ok(());
        }
        let reading = self.can_read();
        let Some(w) = self.write.as_mut() else {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the peer already closed its side"));
        };
        let written = read_while(&mut self.read, &mut self.inbox, reading, w.write_all(&piece)).await;
        if let Some(mut link) = self.join() {
            link.delivered().await;
            self.part(link);
        }
        written
    }

    /// Half-closes: the subject's reader sees EOF; the peer can still receive. Inverse: none.
    pub async fn eof(&mut self) -> Played {
        if let Some(q) = self.withheld.as_mut() {
            q.push(Deferred::Eof);
            return Ok("eof (withheld)".into());
        }
        let Some(mut link) = self.join() else { return Ok("eof failed: the peer already closed".into()) };
        let r = async {
            link.ready_for_fin().await?;
            link.shutdown().await?;
            link.delivered().await;
            Ok::<(), io::Error>(())
        }
        .await;
        self.part(link);
        Ok(outcome_line("eof", r))
    }

    /// Closes both directions: a FIN, or a RST if unread data is left, as a real close does.
    pub async fn close(&mut self) -> Played {
        if let Some(q) = self.withheld.as_mut() {
            q.push(Deferred::Close);
            return Ok("close (withheld)".into());
        }
        let r = match self.join() {
            Some(mut link) => link.ready_for_fin().await,
            None => Ok(()),
        };
        Ok(outcome_line("close", r))
    }

    /// Aborts the connection with a RST.
    pub async fn reset(&mut self) -> Played {
        if let Some(q) = self.withheld.as_mut() {
            q.push(Deferred::Reset);
            return Ok("reset (withheld)".into());
        }
        self.reading = false;
        let Some(mut link) = self.join() else { return Err("the peer already closed the connection: there is nothing to reset".into()) };
        if let Err(why) = link.arm_reset().await {
            self.part(link);
            return Err(why);
        }
        Ok("reset".into())
    }

    /// Stops reading, so the subject's writes back up. Inverse: `resume_reading`.
    pub fn stop_reading(&mut self) -> Played {
        self.reading = false;
        Ok("stop_reading".into())
    }

    /// Reads again, releasing a backed-up subject. Inverse of `stop_reading`.
    pub fn resume_reading(&mut self) -> Played {
        self.reading = true;
        Ok("resume_reading".into())
    }

    /// Stalls both directions. Where the world cannot, the peer withholds what it sends and
    /// stops taking what arrives, until `release`. Inverse: `release`.
    pub fn hold(&mut self, world: &impl World) -> Played {
        if world.hold() {
            return Ok("hold".into());
        }
        self.withheld.get_or_insert_with(Vec::new);
        Ok("hold (the peer withholds its sends and reads nothing)".into())
    }

    /// Delivers what was held, in order. Inverse of `hold`.
    pub async fn release(&mut self, world: &impl World) -> Played {
        let Some(queue) = self.withheld.take() else {
            world.release();
            return Ok("release".into());
        };
        let mut done = Vec::new();
        for deferred in queue {
            let line = match deferred {
                Deferred::Piece(p) => outcome_line(&format!("send {}", crate::vocab::bytes::show(&p)), self.send_piece(p).await),
                Deferred::Eof => self.eof().await?,
                Deferred::Close => self.close().await?,
                Deferred::Reset => self.reset().await?,
            };
            done.push(line);
        }
        Ok(if done.is_empty() { "release".into() } else { format!("release: {}", done.join("; ")) })
    }

    /// Joins the halves back into the whole link, for the verbs that differ per world. Dropping
    /// it instead of handing it back to [`Peer::part`] closes the connection.
    fn join(&mut self) -> Option<Box<dyn Link>> {
        match (self.read.take(), self.write.take()) {
            (Some(r), Some(w)) => Some(r.unsplit(w)),
            _ => None,
        }
    }

    fn part(&mut self, link: Box<dyn Link>) {
        let (r, w) = tokio::io::split(link);
        self.read = Some(r);
        self.write = Some(w);
    }
}

/// Runs `fut` while reading into `inbox` (when `reading`): one loop for `drive` and `send_piece`.
async fn read_while<F: Future>(half: &mut Option<ReadHalf<Box<dyn Link>>>, inbox: &mut Inbox, reading: bool, fut: F) -> F::Output {
    tokio::pin!(fut);
    let Some(half) = half.as_mut().filter(|_| reading) else { return fut.await };
    loop {
        if inbox.eof || inbox.error.is_some() {
            return fut.await;
        }
        tokio::select! {
            biased;
            out = &mut fut => return out,
            r = read_into(half, &mut inbox.data) => take(inbox, r),
        }
    }
}

/// Reads what has arrived straight into the inbox (no intermediate buffer: megabytes pass here).
async fn read_into(half: &mut ReadHalf<Box<dyn Link>>, data: &mut bytes::BytesMut) -> io::Result<usize> {
    data.reserve(64 * 1024);
    half.read_buf(data).await
}

fn take(inbox: &mut Inbox, r: io::Result<usize>) {
    match r {
        Ok(0) => inbox.eof = true,
        Ok(_) => {}
        Err(e) => inbox.error = Some(e.kind()),
    }
}

fn outcome_line(what: &str, r: io::Result<()>) -> String {
    match r {
        Ok(()) => what.to_string(),
        Err(e) => format!("{what} failed: {e}"),
    }
}
