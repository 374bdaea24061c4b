//! `asyncio.StreamWriter` and the write half of its transport: a buffer that never blocks, water
//! marks that pause the protocol, and `drain`, which waits while the protocol is paused.
//!
//! The rules are CPython's selector transport and `FlowControlMixin`, in their order: `drain`
//! raises the reader's exception first, yields once if the transport is closing (so a pending
//! `connection_lost` can run), raises `ConnectionResetError('Connection lost')` once the
//! connection is gone, and otherwise waits only while writing is paused.

use super::error::{messages, StreamError};
use super::reader::StreamReader;
use bytes::Bytes;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::io::AsyncWrite;

/// asyncio's default high-water mark; the low mark defaults to a quarter of the high one.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// The socket's write side as the transport task and the writer share it.
pub(crate) struct WriteState {
    pub(crate) io: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    pub(crate) buffer: VecDeque<Bytes>,
    pub(crate) size: usize,
    pub(crate) high: usize,
    pub(crate) low: usize,
    /// `pause_writing` was called and `resume_writing` not yet.
    pub(crate) protocol_paused: bool,
    /// Bumped each time paused drains are released; a drain waits for the epoch to move.
    pub(crate) drain_epoch: u64,
    pub(crate) drain_waiters: Vec<(u64, Waker)>,
    /// The exception that released the drains of this epoch, when connection_lost did.
    pub(crate) drain_release_error: Option<(u64, StreamError)>,
    pub(crate) closing: bool,
    pub(crate) eof_requested: bool,
    pub(crate) eof_sent: bool,
    /// CPython's `_conn_lost`: non-zero once the transport has given up; writes are then dropped.
    pub(crate) conn_lost: usize,
    /// The error `connection_lost` will be called with, once the transport has given up.
    pub(crate) lost_with: Option<StreamError>,
    /// Set when `connection_lost` has run: `Some(None)` clean, `Some(Some(e))` with an error.
    pub(crate) lost: Option<Option<StreamError>>,
    pub(crate) closed_waiters: Vec<Waker>,
    /// The protocol's one `_closed` future was cancelled (a `wait_closed` was cancelled while it
    /// waited): every `wait_closed` from then on raises CancelledError (W12).
    pub(crate) closed_cancelled: bool,
    /// The transport task, woken when there is something new to write or to close.
    pub(crate) task: Option<Waker>,
}

impl WriteState {
    pub(crate) fn new(io: Pin<Box<dyn AsyncWrite + Send>>) -> Self {
        WriteState {
            io: Some(io),
            buffer: VecDeque::new(),
            size: 0,
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_HIGH_WATER / 4,
            protocol_paused: false,
            drain_epoch: 0,
            drain_waiters: Vec::new(),
            drain_release_error: None,
            closing: false,
            eof_requested: false,
            eof_sent: false,
            conn_lost: 0,
            lost_with: None,
            lost: None,
            closed_waiters: Vec::new(),
            closed_cancelled: false,
            task: None,
        }
    }

    pub(crate) fn wake_task(&mut self) {
        if let Some(w) = &self.task {
            w.wake_by_ref();
        }
    }

    pub(crate) fn maybe_pause_protocol(&mut self) {
        if self.size > self.high && !self.protocol_paused {
            self.protocol_paused = true;
        }
    }

    pub(crate) fn maybe_resume_protocol(&mut self) {
        if self.protocol_paused && self.size <= self.low {
            self.protocol_paused = false;
            self.release_drains(None);
        }
    }

    fn release_drains(&mut self, error: Option<StreamError>) {
        if let Some(e) = error {
            self.drain_release_error = Some((self.drain_epoch, e));
        }
        self.drain_epoch += 1;
        for (_, w) in self.drain_waiters.drain(..) {
            w.wake();
        }
    }

    /// Writes as much of the buffer as the socket takes now. Returns the socket's error, if any.
    pub(crate) fn flush_some(&mut self, cx: &mut Context<'_>) -> Result<(), std::io::Error> {
        let Some(io) = self.io.as_mut() else { return Ok(()) };
        while let Some(front) = self.buffer.front_mut() {
            match io.as_mut().poll_write(cx, front) {
                Poll::Ready(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    self.size -= n;
                    if n == front.len() {
                        self.buffer.pop_front();
                    } else {
                        let _ = front.split_to(n);
                    }
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        self.maybe_resume_protocol();
        Ok(())
    }

    /// `_force_close(exc)`: drop what is buffered, stop, and let the task run connection_lost.
    pub(crate) fn force_close(&mut self, exc: Option<StreamError>) {
        if self.conn_lost > 0 {
            return;
        }
        self.lost_with = exc;
        self.buffer.clear();
        self.size = 0;
        self.closing = true;
        self.conn_lost += 1;
        self.wake_task();
    }

    /// The writer's half of `connection_lost(exc)`: release paused drains and `wait_closed`.
    /// Returns the socket's write side, for the transport to linger on or drop.
    pub(crate) fn connection_lost(&mut self, exc: Option<StreamError>) -> Option<Pin<Box<dyn AsyncWrite + Send>>> {
        let io = self.io.take();
        self.lost = Some(exc.clone());
        if self.protocol_paused {
            self.release_drains(exc);
        }
        for w in self.closed_waiters.drain(..) {
            w.wake();
        }
        io
    }
}

static NEXT_DRAIN: AtomicU64 = AtomicU64::new(1);

/// A handle on the write side of one connection. Clones share it.
#[derive(Clone)]
pub struct StreamWriter {
    pub(crate) state: Arc<Mutex<WriteState>>,
    pub(crate) reader: Option<StreamReader>,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) local_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<StreamWriter transport=<Transport>{}>", if self.reader.is_some() { " reader=<StreamReader>" } else { "" })
    }
}

impl StreamWriter {
    fn lock(&self) -> MutexGuard<'_, WriteState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Buffers `data` and never blocks. If nothing is queued, the socket is offered the bytes at
    /// once, as CPython's transport does, so `get_write_buffer_size()` is 0 when it takes them.
    pub fn write(&self, data: &[u8]) -> Result<(), StreamError> {
        let mut st = self.lock();
        if st.eof_requested {
            return Err(StreamError::RuntimeError(messages::WRITE_AFTER_EOF.into()));
        }
        if data.is_empty() {
            return Ok(());
        }
        if st.conn_lost > 0 {
            // Dropped silently, as CPython does (it only logs from the 5th write on).
            st.conn_lost += 1;
            return Ok(());
        }
        let mut rest = data;
        if st.buffer.is_empty() {
            if let Some(io) = st.io.as_mut() {
                let mut cx = Context::from_waker(Waker::noop());
                match io.as_mut().poll_write(&mut cx, data) {
                    Poll::Ready(Ok(n)) => rest = &data[n..],
                    Poll::Ready(Err(e)) => {
                        // CPython's _fatal_error: the transport closes and connection_lost(exc) follows.
                        st.force_close(Some(e.into()));
                        return Ok(());
                    }
                    Poll::Pending => {}
                }
            }
            if rest.is_empty() {
                return Ok(());
            }
        }
        st.buffer.push_back(Bytes::copy_from_slice(rest));
        st.size += rest.len();
        st.wake_task();
        st.maybe_pause_protocol();
        Ok(())
    }

    /// `writelines`: the pieces joined and written once (3.11's behaviour, which pauses the
    /// protocol like `write`; 3.12.1 and 3.13.0 did not, a bug fixed by gh-127655).
    pub fn writelines<I, B>(&self, lines: I) -> Result<(), StreamError>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        if self.lock().eof_requested {
            // 3.12+ has writelines' own message (3.11 said write()).
            return Err(StreamError::RuntimeError(messages::WRITELINES_AFTER_EOF.into()));
        }
        let mut joined = Vec::new();
        for line in lines {
            joined.extend_from_slice(line.as_ref());
        }
        self.write(&joined)
    }

    /// Waits until the write buffer is at or below the low-water mark, if writing is paused.
    pub async fn drain(&self) -> Result<(), StreamError> {
        if let Some(exc) = self.reader.as_ref().and_then(StreamReader::exception) {
            return Err(exc);
        }
        if self.is_closing() {
            // Lets a pending connection_lost run first, as asyncio's `sleep(0)` does.
            tokio::task::yield_now().await;
        }
        let id = NEXT_DRAIN.fetch_add(1, Ordering::Relaxed);
        let mut epoch = None;
        let guard = DrainGuard { writer: self, id };
        let out = poll_fn(|cx| {
            let mut st = self.lock();
            match epoch {
                None => {
                    if st.lost.is_some() {
                        return Poll::Ready(Err(StreamError::ConnectionReset(messages::CONNECTION_LOST.into())));
                    }
                    if !st.protocol_paused {
                        return Poll::Ready(Ok(()));
                    }
                    epoch = Some(st.drain_epoch);
                }
                Some(e) if st.drain_epoch > e => {
                    return Poll::Ready(match &st.drain_release_error {
                        Some((re, exc)) if *re == e => Err(exc.clone()),
                        _ => Ok(()),
                    });
                }
                Some(_) => {}
            }
            st.drain_waiters.retain(|(w, _)| *w != id);
            st.drain_waiters.push((id, cx.waker().clone()));
            Poll::Pending
        })
        .await;
        drop(guard);
        out
    }

    /// Closes the transport: reading stops at once, buffered data is flushed, then the socket
    /// is closed and `connection_lost` runs. Idempotent.
    pub fn close(&self) {
        let mut st = self.lock();
        if st.closing {
            return;
        }
        st.closing = true;
        if st.buffer.is_empty() {
            st.conn_lost += 1;
        }
        st.wake_task();
    }

    /// True after `close()` or a fatal error; not after the peer's EOF.
    pub fn is_closing(&self) -> bool {
        self.lock().closing
    }

    /// Waits for `connection_lost`, and raises its exception if it had one.
    ///
    /// CPython awaits the protocol's one `_closed` future here, so cancelling a waiting
    /// `wait_closed` (a `wait_for` that times out) cancels that future itself: every later or
    /// concurrent `wait_closed` raises CancelledError, even after the connection closes (W12).
    pub async fn wait_closed(&self) -> Result<(), StreamError> {
        let mut waiting = ClosedWaiter { writer: self, polled: false, done: false };
        let out = poll_fn(|cx| {
            waiting.polled = true;
            let mut st = self.lock();
            if st.closed_cancelled {
                return Poll::Ready(Err(StreamError::cancelled()));
            }
            match &st.lost {
                Some(None) => Poll::Ready(Ok(())),
                Some(Some(e)) => Poll::Ready(Err(e.clone())),
                None => {
                    st.closed_waiters.push(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await;
        waiting.done = true;
        out
    }

    /// Half-closes: a FIN once the buffer is flushed. Does nothing if closing or already done.
    pub fn write_eof(&self) {
        let mut st = self.lock();
        if st.closing || st.eof_requested {
            return;
        }
        st.eof_requested = true;
        st.wake_task();
    }

    /// Always true: these transports are sockets, never TLS.
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Bytes buffered and not yet taken by the socket.
    pub fn get_write_buffer_size(&self) -> usize {
        self.lock().size
    }

    /// `(low, high)`, as `transport.get_write_buffer_limits()` returns them.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let st = self.lock();
        (st.low, st.high)
    }

    /// `transport.set_write_buffer_limits(high, low)`: high defaults to 4 × low or 64 KiB, low to
    /// high / 4, and `high >= low >= 0` is enforced with CPython's message.
    pub fn set_write_buffer_limits(&self, high: Option<i64>, low: Option<i64>) -> Result<(), StreamError> {
        let high = match (high, low) {
            (Some(h), _) => h,
            (None, Some(l)) => 4 * l,
            (None, None) => DEFAULT_HIGH_WATER as i64,
        };
        let low = low.unwrap_or(high.div_euclid(4)); // Python's floor division, also for negative values.
        if !(high >= low && low >= 0) {
            return Err(StreamError::ValueError(format!("high ({high}) must be >= low ({low}) must be >= 0")));
        }
        let mut st = self.lock();
        st.high = high as usize;
        st.low = low as usize;
        st.maybe_pause_protocol();
        Ok(())
    }

    /// Whether `drain()` would wait now.
    pub fn is_writing_paused(&self) -> bool {
        self.lock().protocol_paused
    }

    /// `get_extra_info('peername')`.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// `get_extra_info('sockname')`.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The reader this writer checks in `drain`.
    pub fn reader(&self) -> Option<&StreamReader> {
        self.reader.as_ref()
    }
}

/// Removes a cancelled drain from the waiters, like the `finally` in `_drain_helper`.
struct DrainGuard<'a> {
    writer: &'a StreamWriter,
    id: u64,
}

impl Drop for DrainGuard<'_> {
    fn drop(&mut self) {
        self.writer.lock().drain_waiters.retain(|(w, _)| *w != self.id);
    }
}

/// A `wait_closed` in progress; dropped while it waits, it cancels the shared close future.
struct ClosedWaiter<'a> {
    writer: &'a StreamWriter,
    polled: bool,
    done: bool,
}

impl Drop for ClosedWaiter<'_> {
    fn drop(&mut self) {
        if !self.polled || self.done {
            return;
        }
        let mut st = self.writer.lock();
        if st.lost.is_none() && !st.closed_cancelled {
            st.closed_cancelled = true;
            for w in st.closed_waiters.drain(..) {
                w.wake();
            }
        }
    }
}
