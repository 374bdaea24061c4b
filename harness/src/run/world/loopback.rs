//! The loopback world: real TCP on 127.0.0.1 only, in wall time, for subjects outside the
//! harness (an adapter process, or a server reached by URL) and for the reference run for real.
//!
//! How each fault is made for real:
//! - every piece of a `send` is its own write, with TCP_NODELAY, and the peer then waits until
//!   its kernel has sent it into the subject's receive queue ([`Link::delivered`]): an operation
//!   the director starts next finds the bytes on the subject's side, so no scenario needs a sleep
//!   to let data arrive;
//! - `eof` is `shutdown(SHUT_WR)`; `close` drops the socket; `reset` sets SO_LINGER to 0 first,
//!   so the close is an abort (RST);
//! - after connecting to a subject server, the peer gives it 20 ms to accept and start reading
//!   before the first step (the kernel completes the handshake before the server accepts);
//! - the peer's receive buffer is small ([`PEER_RCVBUF`]), so `stop_reading` backs the subject's
//!   writes up after a few kilobytes plus whatever its own send buffer holds;
//! - `hold` cannot stall the kernel's network: the peer withholds its own sends and stops
//!   reading until `release` (the subject's writes still reach the kernel meanwhile).

use super::{Accept, Link, World, WorldKind};
use crate::run::director::{Director, Log};
use crate::run::subject::{host, BoxFuture, Subject};
use crate::run::RunOptions;
use crate::scenario::Scenario;
use crate::transcript::Transcript;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// The peer's SO_RCVBUF (Linux doubles it): small, so that a peer that stops reading backs the
/// subject up soon.
pub const PEER_RCVBUF: u32 = 64 * 1024;
/// How long the peer gives a subject server, after connecting, to accept and start reading.
const ACCEPT_SETTLE: Duration = Duration::from_millis(20);
/// How long `delivered` waits for the subject's kernel to take more bytes before it decides the
/// subject is not reading and goes on.
const STALL: Duration = Duration::from_millis(200);

/// Real TCP on 127.0.0.1.
pub struct Loopback {
    started: Instant,
}

impl Loopback {
    pub fn new() -> Loopback {
        Loopback { started: Instant::now() }
    }
}

impl Default for Loopback {
    fn default() -> Self {
        Loopback::new()
    }
}

impl World for Loopback {
    fn kind(&self) -> WorldKind {
        WorldKind::Loopback
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn server_host(&self) -> &'static str {
        "127.0.0.1"
    }

    async fn listen(&self) -> io::Result<(String, u16, Accept)> {
        let socket = TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(PEER_RCVBUF)?;
        socket.bind("127.0.0.1:0".parse().expect("a literal address"))?;
        let listener = socket.listen(1)?;
        let port = listener.local_addr()?.port();
        let accept: Accept = Box::pin(async move {
            let (stream, _) = listener.accept().await?;
            link(stream)
        });
        Ok(("127.0.0.1".into(), port, accept))
    }

    async fn connect(&self, port: u16) -> io::Result<Box<dyn Link>> {
        let socket = TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(PEER_RCVBUF)?;
        let stream = socket.connect(([127, 0, 0, 1], port).into()).await?;
        // The kernel completes the handshake before the subject's server has accepted; a peer
        // step played at once would race the server's setup (what arrives before it reads).
        tokio::time::sleep(ACCEPT_SETTLE).await;
        link(stream)
    }

    fn hold(&self) -> bool {
        false
    }

    fn release(&self) {}
}

/// Runs `scenario` on real loopback TCP against `subject`, on the current tokio runtime.
pub async fn run(scenario: &Scenario, options: &RunOptions, subject: Arc<dyn Subject>) -> Transcript {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let serving = tokio::spawn(host::serve(rx, subject));
    let events: Log = Arc::default();
    let world = Loopback::new();
    let result = Director::new(&world, scenario, options, host::SubjectLink::new(tx), events.clone()).direct().await;
    // The director is done: operations still in flight are abandoned (the suite resets the subject).
    serving.abort();
    let events = std::mem::take(&mut *events.lock().expect("log lock"));
    Transcript { seed: options.seed, events, harness_error: result.err(), world: WorldKind::Loopback, ..Transcript::default() }
}

/// A real socket, with Nagle off so that each piece leaves as it is written.
fn link(stream: TcpStream) -> io::Result<Box<dyn Link>> {
    stream.set_nodelay(true)?;
    Ok(Box::new(stream))
}

/// Bytes written but not yet sent (SIOCOUTQNSD). On loopback a segment sent is in the other
/// socket's receive queue by the time the send returns (the receive runs in the sender's softirq),
/// and waiting for the ACK instead would wait out the receiver's delayed ACK (40 ms).
fn unsent(stream: &TcpStream) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQNSD writes one c_int for a TCP socket we own.
    let r = unsafe { libc::ioctl(stream.as_raw_fd(), libc::SIOCOUTQNSD, &mut n) };
    if r == 0 {
        n.max(0) as usize
    } else {
        0
    }
}

impl Link for TcpStream {
    fn delivered(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            let mut left = unsent(self);
            let mut progress = Instant::now();
            while left > 0 && progress.elapsed() < STALL {
                tokio::time::sleep(Duration::from_micros(200)).await;
                let now = unsent(self);
                if now < left {
                    progress = Instant::now();
                }
                left = now;
            }
            // One more turn of the runtime, so an in-process subject on it has read the bytes too.
            tokio::task::yield_now().await;
        })
    }

    fn ready_for_fin(&mut self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn arm_reset(&mut self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { self.set_zero_linger().map_err(|e| format!("cannot set SO_LINGER to 0 for a reset: {e}")) })
    }
}
