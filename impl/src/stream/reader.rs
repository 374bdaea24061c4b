//! `asyncio.StreamReader`: a buffer that a transport feeds and coroutines read from.
//!
//! Every method follows CPython 3.13's `streams.py` step by step, including its order of checks
//! (which differs per method), its one-waiter rule and its flow control. The reader is a cheap,
//! cloneable handle: clones share one buffer, which is how two concurrent reads can meet the
//! one-waiter rule at all.
//!
//! A cancelled `read(-1)` loses the bytes it has pulled so far, exactly as CPython does (probe
//! R06): the choice is exactness, and it is documented in the README. Every other cancelled
//! read leaves the buffer as it was (L08).

use super::buffer::Buffer;
use super::error::{messages, StreamError};
use super::search::Separators;
use bytes::{Bytes, BytesMut};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// asyncio's `_DEFAULT_LIMIT` (2 ** 16).
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// What the reader asks of its transport: asyncio's `pause_reading` / `resume_reading`.
/// Called with the reader's lock held, so implementations must not call back into the reader.
pub trait ReadControl: Send + Sync {
    /// Stops delivering data. Returns false when the transport cannot pause (CPython's
    /// `NotImplementedError`); the reader then forgets the transport and buffers without bound.
    fn pause_reading(&self) -> bool;
    /// Starts delivering data again.
    fn resume_reading(&self);
}

static NEXT_TICKET: AtomicU64 = AtomicU64::new(1);

struct State {
    buf: Buffer,
    limit: usize,
    eof: bool,
    exception: Option<StreamError>,
    /// The one coroutine allowed to wait for data, and how to wake it.
    waiter: Option<(u64, Waker)>,
    /// An exception that `set_exception` delivered to the waiter it woke.
    woken_with: Option<(u64, StreamError)>,
    paused: bool,
    transport: Option<Arc<dyn ReadControl>>,
    transport_was_set: bool,
}

/// A handle on one shared asyncio-style stream reader.
#[derive(Clone)]
pub struct StreamReader {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repr())
    }
}

impl Default for StreamReader {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamReader {
    /// A reader with the default limit (64 KiB).
    pub fn new() -> Self {
        Self::build(DEFAULT_LIMIT)
    }

    /// A reader with the given limit; `limit <= 0` is CPython's `ValueError('Limit cannot be <= 0')`.
    pub fn with_limit(limit: i64) -> Result<Self, StreamError> {
        if limit <= 0 {
            return Err(StreamError::ValueError(messages::LIMIT_NOT_POSITIVE.into()));
        }
        Ok(Self::build(limit as usize))
    }

    fn build(limit: usize) -> Self {
        StreamReader {
            state: Arc::new(Mutex::new(State {
                buf: Buffer::default(),
                limit,
                eof: false,
                exception: None,
                waiter: None,
                woken_with: None,
                paused: false,
                transport: None,
                transport_was_set: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The reader's limit.
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// A copy of the bytes buffered and not yet read.
    pub fn buffer(&self) -> Bytes {
        self.lock().buf.to_bytes()
    }

    /// How many bytes are buffered.
    pub fn buffered_len(&self) -> usize {
        self.lock().buf.len()
    }

    /// Whether the reader has paused its transport.
    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    /// The stored exception, if any.
    pub fn exception(&self) -> Option<StreamError> {
        self.lock().exception.clone()
    }

    /// Attaches the transport for flow control; like CPython, only once.
    pub fn set_transport(&self, transport: Arc<dyn ReadControl>) -> Result<(), StreamError> {
        let mut st = self.lock();
        if st.transport_was_set {
            return Err(StreamError::assertion("Transport already set"));
        }
        st.transport_was_set = true;
        st.transport = Some(transport);
        Ok(())
    }

    /// Stores `exc` for good; the pending waiter, if any, is woken with it.
    pub fn set_exception(&self, exc: StreamError) {
        let mut st = self.lock();
        st.exception = Some(exc.clone());
        if let Some((id, waker)) = st.waiter.take() {
            st.woken_with = Some((id, exc));
            waker.wake();
        }
    }

    /// Marks EOF and wakes the waiter. May be called repeatedly (probe E03).
    pub fn feed_eof(&self) {
        let mut st = self.lock();
        st.eof = true;
        st.wakeup_waiter();
    }

    /// Appends a copy of `data` and wakes the waiter; pauses the transport above 2 × limit.
    /// Feeding after EOF is CPython's `AssertionError('feed_data after feed_eof')`, even for empty data.
    pub fn feed_data(&self, data: &[u8]) -> Result<(), StreamError> {
        self.feed(data.is_empty(), |buf| buf.extend_from_slice(data))
    }

    /// `feed_data` for bytes the caller owns: the chunk becomes part of the buffer without a
    /// copy, and lines that lie inside it are handed out as slices of it.
    pub fn feed_bytes(&self, data: Bytes) -> Result<(), StreamError> {
        self.feed(data.is_empty(), |buf| buf.push(data))
    }

    fn feed(&self, empty: bool, append: impl FnOnce(&mut Buffer)) -> Result<(), StreamError> {
        let mut st = self.lock();
        if st.eof {
            return Err(StreamError::assertion(messages::FEED_AFTER_EOF));
        }
        if empty {
            return Ok(());
        }
        append(&mut st.buf);
        st.wakeup_waiter();
        if !st.paused && st.buf.len() > 2 * st.limit {
            match &st.transport {
                Some(t) if t.pause_reading() => st.paused = true,
                Some(_) => st.transport = None,
                None => {}
            }
        }
        Ok(())
    }

    /// True only when EOF has been seen and the buffer is empty; the exception is ignored (E01).
    pub fn at_eof(&self) -> bool {
        let st = self.lock();
        st.eof && st.buf.is_empty()
    }

    /// `read(n)`: n < 0 reads to EOF, n == 0 returns empty, n > 0 returns as soon as any byte
    /// is there (waiting at most once).
    ///
    /// `read(-1)` is CPython's loop of `read(limit)` calls: the blocks live in this future until
    /// EOF, so cancelling it (or an exception part-way) loses them, exactly as CPython does (R06).
    pub async fn read(&self, n: isize) -> Result<Bytes, StreamError> {
        if n >= 0 {
            return self.read_some(n).await;
        }
        let limit = self.limit() as isize;
        let mut blocks = BytesMut::new();
        loop {
            let block = self.read_some(limit).await?;
            if block.is_empty() {
                return Ok(blocks.freeze());
            }
            if blocks.is_empty() {
                blocks = block.into();
            } else {
                blocks.extend_from_slice(&block);
            }
        }
    }

    /// `read(n)` for n >= 0: the exception is checked on entry only, never after waiting (a
    /// read woken by data returns it even if an exception was stored meanwhile).
    async fn read_some(&self, n: isize) -> Result<Bytes, StreamError> {
        let ticket = Ticket::new(self);
        poll_fn(|cx| {
            let mut st = self.lock();
            std::task::ready!(ticket.resume(&mut st, cx))?;
            if !ticket.has_waited() {
                if let Some(e) = &st.exception {
                    return Poll::Ready(Err(e.clone()));
                }
                if n == 0 {
                    return Poll::Ready(Ok(Bytes::new()));
                }
                if st.buf.is_empty() && !st.eof {
                    ticket.wait(&mut st, cx, "read")?;
                    return Poll::Pending;
                }
            }
            let take = (n as usize).min(st.buf.len());
            let data = st.buf.split_to(take);
            st.maybe_resume_transport();
            Poll::Ready(Ok(data))
        })
        .await
    }

    /// `readexactly(n)`: exactly n bytes, or `IncompleteRead{partial, expected: n}` at EOF
    /// (and the buffer is cleared).
    pub async fn readexactly(&self, n: isize) -> Result<Bytes, StreamError> {
        let ticket = Ticket::new(self);
        poll_fn(|cx| {
            let mut st = self.lock();
            std::task::ready!(ticket.resume(&mut st, cx))?;
            if !ticket.has_waited() {
                // Checked once, at the start, in CPython's order (X05): size, exception, zero.
                if n < 0 {
                    return Poll::Ready(Err(StreamError::ValueError(messages::READEXACTLY_NEGATIVE.into())));
                }
                if let Some(e) = &st.exception {
                    return Poll::Ready(Err(e.clone()));
                }
                if n == 0 {
                    return Poll::Ready(Ok(Bytes::new()));
                }
            }
            let n = n as usize;
            if st.buf.len() < n {
                if st.eof {
                    let partial = st.buf.split();
                    return Poll::Ready(Err(StreamError::IncompleteRead { partial, expected: Some(n) }));
                }
                ticket.wait(&mut st, cx, "readexactly")?;
                return Poll::Pending;
            }
            let data = st.buf.split_to(n);
            st.maybe_resume_transport();
            Poll::Ready(Ok(data))
        })
        .await
    }

    /// `readuntil(separator)`.
    pub async fn readuntil(&self, separator: &[u8]) -> Result<Bytes, StreamError> {
        self.readuntil_any(&[separator]).await
    }

    /// `readuntil((sep1, sep2, ...))`, the 3.13 tuple form: the match that ends first wins, and a
    /// tie goes to the shorter separator.
    pub async fn readuntil_any(&self, separators: &[&[u8]]) -> Result<Bytes, StreamError> {
        self.readuntil_inner(&Separators::new(separators), None).await
    }

    /// Several `readuntil(separator)` calls in one: the next chunk exactly as `readuntil` returns
    /// it (waiting, raising, or `IncompleteRead` at EOF alike), then every further chunk a
    /// `readuntil` would return at once (separator buffered, within the limit), all under one
    /// lock. In asyncio such calls never suspend, so nothing could run between them: the buffer,
    /// flow control and errors end up exactly as after the same run of single calls.
    pub async fn readuntil_batch(&self, separator: &[u8]) -> Result<LineBatch, StreamError> {
        let mut cuts = Vec::new();
        let data = self.readuntil_inner(&Separators::One(separator), Some(&mut cuts)).await?;
        Ok(LineBatch { data, cuts })
    }

    /// `readuntil`, or with `batch` the same plus every further chunk already buffered; `batch`
    /// receives where each chunk but the last ends.
    async fn readuntil_inner(&self, seps: &Separators<'_>, mut batch: Option<&mut Vec<usize>>) -> Result<Bytes, StreamError> {
        if seps.is_empty() {
            return Err(StreamError::ValueError(messages::SEP_TUPLE_EMPTY.into()));
        }
        if seps.any_empty() {
            return Err(StreamError::ValueError(messages::SEP_EMPTY.into()));
        }
        if let Some(chunk) = self.take_buffered_match(seps, batch.as_deref_mut()) {
            return Ok(chunk);
        }
        let ticket = Ticket::new(self);
        let mut started = false;
        let mut offset = 0usize;
        poll_fn(|cx| {
            let mut st = self.lock();
            std::task::ready!(ticket.resume(&mut st, cx))?;
            if !started {
                started = true;
                if let Some(e) = &st.exception {
                    return Poll::Ready(Err(e.clone()));
                }
            }
            let buflen = st.buf.len();
            let mut found = None;
            if buflen.saturating_sub(offset) >= seps.min_len() && buflen >= offset {
                found = st.buf.earliest_end(seps, offset);
                if found.is_none() {
                    // Rescan only the tail next time: the last max_len - 1 bytes (clamped, U14).
                    offset = (buflen + 1).saturating_sub(seps.max_len());
                    if offset > st.limit {
                        return Poll::Ready(Err(StreamError::LimitOverrun {
                            consumed: offset,
                            message: messages::SEP_NOT_FOUND,
                        }));
                    }
                }
            }
            let Some((start, end)) = found else {
                if st.eof {
                    let partial = st.buf.split();
                    return Poll::Ready(Err(StreamError::IncompleteRead { partial, expected: None }));
                }
                ticket.wait(&mut st, cx, "readuntil")?;
                return Poll::Pending;
            };
            if start > st.limit {
                return Poll::Ready(Err(StreamError::LimitOverrun { consumed: start, message: messages::SEP_FOUND_TOO_LONG }));
            }
            let end = st.batch_end(seps, end, batch.as_deref_mut());
            let chunk = st.buf.split_to(end);
            st.maybe_resume_transport();
            Poll::Ready(Ok(chunk))
        })
        .await
    }

    /// The common case under one lock: no exception, and a match already buffered within the
    /// limit. Anything else goes the full way, which repeats these checks in CPython's order.
    fn take_buffered_match(&self, seps: &Separators<'_>, batch: Option<&mut Vec<usize>>) -> Option<Bytes> {
        let mut st = self.lock();
        if st.exception.is_some() {
            return None;
        }
        let (start, end) = st.buf.earliest_end(seps, 0)?;
        if start > st.limit {
            return None;
        }
        let end = st.batch_end(seps, end, batch);
        let chunk = st.buf.split_to(end);
        st.maybe_resume_transport();
        Some(chunk)
    }

    /// `readline()`: `readuntil(b"\n")`, except that EOF returns the partial line and an overrun
    /// discards (the whole line if its newline is there, else the whole buffer) and raises
    /// `ValueError` with the overrun's message.
    pub async fn readline(&self) -> Result<Bytes, StreamError> {
        // Tried before the full future is built: a line already buffered needs none of it.
        if let Some(line) = self.take_buffered_match(&Separators::One(b"\n"), None) {
            return Ok(line);
        }
        self.readline_inner(None).await
    }

    /// Several `readline()` calls in one: the next line exactly as `readline` returns it (an
    /// empty batch at EOF), then every further complete line within the limit that is already
    /// buffered, all under one lock. Such a run of `readline` calls never suspends in asyncio, so
    /// the reader ends up exactly as after the single calls; an overrun or a partial last line
    /// is left for the next call, as the single calls would meet it.
    pub async fn readline_batch(&self) -> Result<LineBatch, StreamError> {
        let mut cuts = Vec::new();
        let data = self.readline_inner(Some(&mut cuts)).await?;
        Ok(LineBatch { data, cuts })
    }

    async fn readline_inner(&self, batch: Option<&mut Vec<usize>>) -> Result<Bytes, StreamError> {
        match self.readuntil_inner(&Separators::One(b"\n"), batch).await {
            Ok(line) => Ok(line),
            Err(StreamError::IncompleteRead { partial, .. }) => Ok(partial),
            Err(StreamError::LimitOverrun { consumed, message }) => {
                let mut st = self.lock();
                if st.buf.get(consumed) == Some(b'\n') {
                    let _ = st.buf.split_to(consumed + 1);
                } else {
                    st.buf.clear();
                }
                st.maybe_resume_transport();
                Err(StreamError::ValueError(message.into()))
            }
            Err(e) => Err(e),
        }
    }

    /// `async for line in reader`: a stream of lines that ends at the first empty line (EOF).
    pub fn lines(&self) -> Lines {
        Lines { reader: self.clone(), pending: None, done: false }
    }

    /// CPython's `repr()`, with the waiter and transport shown by kind rather than address.
    pub fn repr(&self) -> String {
        let st = self.lock();
        let mut info = vec!["StreamReader".to_string()];
        if !st.buf.is_empty() {
            info.push(format!("{} bytes", st.buf.len()));
        }
        if st.eof {
            info.push("eof".into());
        }
        if st.limit != DEFAULT_LIMIT {
            info.push(format!("limit={}", st.limit));
        }
        if st.waiter.is_some() {
            info.push("waiter=<Future pending>".into());
        }
        if let Some(e) = &st.exception {
            info.push(format!("exception={}({:?})", e.python_class(), e.to_string()));
        }
        if st.transport.is_some() {
            info.push("transport=<Transport>".into());
        }
        if st.paused {
            info.push("paused".into());
        }
        format!("<{}>", info.join(" "))
    }
}

impl State {
    /// Where a batch that starts with the match ending at `first_end` ends: with `batch`, every
    /// following match that `readuntil` would return at once (separator found, start within the
    /// limit) joins it, and `batch` records where each line but the last ends; without, the
    /// batch is that one match.
    fn batch_end(&self, seps: &Separators<'_>, first_end: usize, batch: Option<&mut Vec<usize>>) -> usize {
        match batch {
            Some(cuts) => self.buf.following_ends(seps, first_end, self.limit, cuts),
            None => first_end,
        }
    }

    /// A waiter that is still registered keeps waiting; a woken one learns whether it was woken
    /// by an exception.
    fn resume(&mut self, id: u64, cx: &Context<'_>) -> Poll<Result<(), StreamError>> {
        if let Some((wid, waker)) = &mut self.waiter {
            if *wid == id {
                waker.clone_from(cx.waker());
                return Poll::Pending;
            }
        }
        if matches!(&self.woken_with, Some((wid, _)) if *wid == id) {
            let (_, e) = self.woken_with.take().expect("checked above");
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(()))
    }

    /// CPython's `_wait_for_data`: one waiter at a time, and a paused transport is resumed first.
    fn wait_for_data(&mut self, id: u64, cx: &Context<'_>, func: &str) -> Result<(), StreamError> {
        if matches!(&self.waiter, Some((wid, _)) if *wid != id) {
            return Err(StreamError::RuntimeError(format!(
                "{func}() called while another coroutine is already waiting for incoming data"
            )));
        }
        debug_assert!(!self.eof, "_wait_for_data after EOF");
        if self.paused {
            self.paused = false;
            if let Some(t) = &self.transport {
                t.resume_reading();
            }
        }
        self.waiter = Some((id, cx.waker().clone()));
        Ok(())
    }

    fn wakeup_waiter(&mut self) {
        if let Some((_, waker)) = self.waiter.take() {
            waker.wake();
        }
    }

    fn maybe_resume_transport(&mut self) {
        if self.paused && self.buf.len() <= self.limit {
            self.paused = false;
            if let Some(t) = &self.transport {
                t.resume_reading();
            }
        }
    }
}

/// One read call's identity as a waiter; dropping it (a cancelled read) frees the waiter slot
/// and leaves the buffer as it was (probe L08).
struct Ticket<'a> {
    reader: &'a StreamReader,
    id: u64,
    /// Whether this read ever registered as the waiter; if not, dropping it needs no lock.
    waited: AtomicBool,
    /// Whether it is registered now (until woken).
    waiting: AtomicBool,
}

impl<'a> Ticket<'a> {
    fn new(reader: &'a StreamReader) -> Self {
        Ticket { reader, id: NEXT_TICKET.fetch_add(1, Ordering::Relaxed), waited: AtomicBool::new(false), waiting: AtomicBool::new(false) }
    }

    fn has_waited(&self) -> bool {
        self.waited.load(Ordering::Relaxed)
    }

    /// Registers this read as the one waiter (CPython's `_wait_for_data`).
    fn wait(&self, st: &mut State, cx: &Context<'_>, func: &str) -> Result<(), StreamError> {
        st.wait_for_data(self.id, cx, func)?;
        self.waited.store(true, Ordering::Relaxed);
        self.waiting.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Ready at once if not waiting; else Pending until woken, then Ready with the exception
    /// that woke it, if one did.
    fn resume(&self, st: &mut State, cx: &Context<'_>) -> Poll<Result<(), StreamError>> {
        if !self.waiting.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(()));
        }
        let out = std::task::ready!(st.resume(self.id, cx));
        self.waiting.store(false, Ordering::Relaxed);
        Poll::Ready(out)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.has_waited() {
            return;
        }
        let mut st = self.reader.lock();
        if matches!(&st.waiter, Some((wid, _)) if *wid == self.id) {
            st.waiter = None;
        }
        if matches!(&st.woken_with, Some((wid, _)) if *wid == self.id) {
            st.woken_with = None;
        }
    }
}

/// What `readline_batch` / `readuntil_batch` return: the lines one run of single calls would
/// have returned, kept as one buffer and where each line but the last ends (no copy, one
/// refcount, and no allocation for a batch of one line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineBatch {
    data: Bytes,
    cuts: Vec<usize>,
}

impl LineBatch {
    /// How many lines; zero only at EOF (`readline`'s `b""`).
    pub fn len(&self) -> usize {
        if self.data.is_empty() {
            0
        } else {
            self.cuts.len() + 1
        }
    }

    /// True at EOF: `readline` would have returned `b""`.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Every line, in order, separator included, as slices of the batch.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let ends = self.cuts.iter().copied().chain((!self.data.is_empty()).then_some(self.data.len()));
        ends.scan(0, |start, end| {
            let line = &self.data[*start..end];
            *start = end;
            Some(line)
        })
    }

    /// Line `i` as its own `Bytes`, sharing the batch's memory.
    pub fn line(&self, i: usize) -> Option<Bytes> {
        if i >= self.len() {
            return None;
        }
        let start = if i == 0 { 0 } else { self.cuts[i - 1] };
        let end = self.cuts.get(i).copied().unwrap_or(self.data.len());
        Some(self.data.slice(start..end))
    }

    /// All the lines back to back, as the single calls' results concatenated.
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }
}

type LineFuture = Pin<Box<dyn Future<Output = Result<Bytes, StreamError>> + Send>>;

/// `async for line in reader`: yields lines until `readline` returns empty (EOF). An overrun's
/// `ValueError` is yielded as an error and the stream goes on, as the reader stays usable (I02).
pub struct Lines {
    reader: StreamReader,
    pending: Option<LineFuture>,
    done: bool,
}

impl futures_core::Stream for Lines {
    type Item = Result<Bytes, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let reader = self.reader.clone();
        let fut = self.pending.get_or_insert_with(|| Box::pin(async move { reader.readline().await }));
        let out = std::task::ready!(fut.as_mut().poll(cx));
        self.pending = None;
        match out {
            Ok(line) if line.is_empty() => {
                self.done = true;
                Poll::Ready(None)
            }
            other => Poll::Ready(Some(other)),
        }
    }
}
