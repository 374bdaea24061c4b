//! The transport task: asyncio's selector socket transport and `StreamReaderProtocol` in one.
//!
//! One task per connection owns the socket's read half. It feeds the reader (`data_received`),
//! stops reading while the reader has paused it, flushes the writer's buffer, performs
//! `write_eof` and `close`, and finally runs `connection_lost`: a clean loss feeds EOF, a failed
//! one stores the error in the reader, releases paused drains and completes `wait_closed`.

use super::error::StreamError;
use super::reader::{ReadControl, StreamReader, DEFAULT_LIMIT};
use super::writer::{StreamWriter, WriteState};
use bytes::BytesMut;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How many bytes one socket read may deliver: the "one chunk" of the memory bound.
pub const READ_CHUNK: usize = 64 * 1024;

/// A read at least this large is handed to the reader as it is (`feed_bytes`, no copy); a
/// smaller one is copied, so that a few bytes never hold a whole read buffer's memory alive.
const HAND_OVER: usize = READ_CHUNK / 4;

/// Reads per wake-up before the task yields, so one busy connection cannot starve the others.
const READS_PER_POLL: usize = 32;

/// How long a cleanly closed socket may wait to send its FIN (a kernel's lingering close).
const LINGER: std::time::Duration = std::time::Duration::from_secs(60);

/// How a connection's streams are opened.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// The reader's limit (asyncio's `limit=`); `<= 0` is refused.
    pub limit: i64,
    pub peer_addr: Option<SocketAddr>,
    pub local_addr: Option<SocketAddr>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions { limit: DEFAULT_LIMIT as i64, peer_addr: None, local_addr: None }
    }
}

/// The reader's pause switch for the transport task.
#[derive(Default)]
struct ReadSwitch {
    paused: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl ReadControl for ReadSwitch {
    fn pause_reading(&self) -> bool {
        self.paused.store(true, Ordering::SeqCst);
        true
    }

    fn resume_reading(&self) {
        self.paused.store(false, Ordering::SeqCst);
        if let Some(w) = self.task.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            w.wake_by_ref();
        }
    }
}

/// Binds `io` to a new reader and writer and spawns the transport task on the current tokio
/// runtime (inside turmoil, the host's runtime). Must be called from within a runtime.
pub fn open_stream<S>(io: S, options: StreamOptions) -> Result<(StreamReader, StreamWriter), StreamError>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let reader = StreamReader::with_limit(options.limit)?;
    let switch = Arc::new(ReadSwitch::default());
    reader.set_transport(switch.clone())?;
    let (read_half, write_half) = tokio::io::split(io);
    let state = Arc::new(Mutex::new(WriteState::new(Box::pin(write_half))));
    let writer = StreamWriter {
        state: state.clone(),
        reader: Some(reader.clone()),
        peer_addr: options.peer_addr,
        local_addr: options.local_addr,
    };
    let task = Task { read: Box::pin(read_half), reader: reader.clone(), state, switch, read_done: false };
    tokio::spawn(task.run());
    Ok((reader, writer))
}

struct Task {
    read: Pin<Box<dyn AsyncRead + Send>>,
    reader: StreamReader,
    state: Arc<Mutex<WriteState>>,
    switch: Arc<ReadSwitch>,
    read_done: bool,
}

impl Task {
    async fn run(mut self) {
        let mut chunk = BytesMut::new();
        let (exc, io) = poll_fn(|cx| self.poll_once(cx, &mut chunk)).await;
        if let (None, Some(mut io)) = (exc, io) {
            // connection_lost has run; the socket itself closes once its FIN can go out.
            let _ = tokio::time::timeout(LINGER, poll_fn(|cx| io.as_mut().poll_flush(cx))).await;
        }
    }

    /// Reads first, then writes, so that a reset surfaces as the read's ConnectionReset (as in
    /// CPython) rather than as a write's BrokenPipe. Ready once connection_lost has run.
    #[allow(clippy::type_complexity)]
    fn poll_once(&mut self, cx: &mut Context<'_>, chunk: &mut BytesMut) -> Poll<(Option<StreamError>, Option<Pin<Box<dyn AsyncWrite + Send>>>)> {
        *self.switch.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        for _ in 0..READS_PER_POLL {
            let reading = !self.read_done && !self.switch.paused.load(Ordering::SeqCst) && !self.is_closing();
            let mut progressed = false;
            if reading {
                if chunk.capacity() < HAND_OVER {
                    // What is left of the last buffer is too small; the reader keeps the rest.
                    *chunk = BytesMut::with_capacity(READ_CHUNK);
                }
                let room = READ_CHUNK.min(chunk.capacity() - chunk.len());
                let mut buf = ReadBuf::uninit(&mut chunk.spare_capacity_mut()[..room]);
                if let Poll::Ready(r) = self.read.as_mut().poll_read(cx, &mut buf) {
                    progressed = true;
                    let n = buf.filled().len();
                    // SAFETY: ReadBuf vouches that its first `n` bytes, the start of `chunk`'s
                    // spare capacity, were written.
                    unsafe { chunk.set_len(n) };
                    match r {
                        Ok(()) if n == 0 => {
                            // eof_received returns True: keep the write side open (half-close).
                            self.read_done = true;
                            self.reader.feed_eof();
                        }
                        Ok(()) if n >= HAND_OVER => {
                            let _ = self.reader.feed_bytes(chunk.split().freeze());
                        }
                        Ok(()) => {
                            let _ = self.reader.feed_data(chunk);
                            chunk.clear();
                        }
                        Err(e) => {
                            self.read_done = true;
                            self.lock().force_close(Some(e.into()));
                        }
                    }
                }
            }
            if let Some(lost) = self.step_writes(cx) {
                let io = self.connection_lost(lost.clone());
                return Poll::Ready((lost, io));
            }
            if !progressed {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WriteState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_closing(&self) -> bool {
        self.lock().closing
    }

    /// Flushes, half-closes and closes as the writer asked. Returns `Some(exc)` once the
    /// transport has given up and `connection_lost(exc)` is due.
    fn step_writes(&mut self, cx: &mut Context<'_>) -> Option<Option<StreamError>> {
        let mut st = self.lock();
        st.task = Some(cx.waker().clone());
        if st.conn_lost == 0 {
            if let Err(e) = st.flush_some(cx) {
                st.force_close(Some(e.into()));
            }
        }
        if st.conn_lost == 0 && st.buffer.is_empty() {
            if st.closing {
                st.conn_lost += 1;
            } else if st.eof_requested && !st.eof_sent {
                if let Some(io) = st.io.as_mut() {
                    match io.as_mut().poll_shutdown(cx) {
                        Poll::Ready(Ok(())) => st.eof_sent = true,
                        Poll::Ready(Err(e)) => st.force_close(Some(e.into())),
                        Poll::Pending => {}
                    }
                }
            }
        }
        (st.conn_lost > 0).then(|| st.lost_with.take())
    }

    /// `StreamReaderProtocol.connection_lost(exc)`; returns the socket's write side.
    fn connection_lost(&mut self, exc: Option<StreamError>) -> Option<Pin<Box<dyn AsyncWrite + Send>>> {
        match &exc {
            None => self.reader.feed_eof(),
            Some(e) => self.reader.set_exception(e.clone()),
        }
        self.lock().connection_lost(exc)
    }
}
