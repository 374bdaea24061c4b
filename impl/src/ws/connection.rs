//! THE state machine: the only place that holds connection state (RFC 6455 §5–§7).
//!
//! ```text
//!   Open ──we send Close──▶ ClosingByUs ──peer's Close / timeout──▶ Closed
//!     └──peer's Close: we reply──▶ ClosingByPeer ──TCP closed──────▶ Closed
//!   (any state) ──protocol violation: we send 1002/1007/1009, close TCP──▶ Closed
//! ```
//!
//! A [`WebSocket`] is a cheap handle (clones share one connection), so one task can wait in
//! [`WebSocket::recv`] while another sends or closes. Writes never block (the stream writer
//! buffers) and are followed by `drain`; reads go through one async lock, so frames are read by
//! one caller at a time. Pings are answered automatically inside `recv`.

use super::config::WsConfig;
use super::close::{close_body, parse_close_body};
pub use super::close::{CloseOutcome, Initiator};
use super::error::{Error, ProtocolError, Result, TimeoutError};
use super::frame::coding::{CloseCode, OpCode};
use super::frame::header::{self, check_frame_size, FrameHeader};
use super::frame::mask::{apply_mask, MaskSource};
use super::frame::encode;
use super::message::{Assembler, Message};
use crate::stream::{StreamError, StreamReader, StreamWriter};
use bytes::Bytes;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// What [`WebSocket::recv`] returns: a message, or the end of the connection (an outcome, not
/// an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Message(Message),
    Closed(CloseOutcome),
}

#[derive(Debug, Clone)]
enum State {
    Open,
    /// We sent Close (with this code); waiting for the peer's.
    ClosingByUs,
    /// The peer sent Close and we replied; a client waits for the server to close TCP.
    ClosingByPeer(CloseOutcome),
    Closed(CloseOutcome),
}

struct Core {
    state: State,
    /// Reused frame buffer for outgoing frames.
    out: Vec<u8>,
    masks: MaskSource,
    /// When our unanswered keepalive ping went out.
    ping_sent_at: Option<Instant>,
    /// The last time a frame arrived (or the keepalive timer started).
    last_seen: Instant,
}

/// Receive-side progress, kept across calls so that a cancelled `recv` (dropped by a timeout
/// or a `select!`) resumes exactly where it stopped: nothing read from the stream is lost.
struct ReadSide {
    assembler: Assembler,
    /// The first two header bytes, when the rest of the header has not arrived yet.
    first: Option<[u8; 2]>,
    /// The frame whose payload is being read, and how many payload bytes were consumed.
    frame: Option<(FrameHeader, usize)>,
}

struct Shared {
    reader: StreamReader,
    writer: StreamWriter,
    role: Role,
    config: WsConfig,
    subprotocol: Option<String>,
    core: Mutex<Core>,
    read: tokio::sync::Mutex<ReadSide>,
}

/// Dropping the last handle closes the TCP connection (without a closing handshake: call
/// [`WebSocket::close`] first for a clean one).
impl Drop for Shared {
    fn drop(&mut self) {
        self.writer.close();
    }
}

/// One open WebSocket connection over a `StreamReader` / `StreamWriter` pair. Clones share it;
/// dropping the last one closes the TCP connection.
#[derive(Clone)]
pub struct WebSocket {
    shared: Arc<Shared>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket").field("role", &self.shared.role).field("state", &self.lock().state).finish()
    }
}

/// A frame whose payload was read, ready for dispatch.
enum Step {
    Continue,
    Event(Incoming),
}

impl WebSocket {
    /// Wraps streams on which the opening handshake has completed (use [`super::WsClient`]
    /// and [`super::WsServer`] to perform it).
    pub fn from_streams(reader: StreamReader, writer: StreamWriter, role: Role, config: WsConfig, subprotocol: Option<String>, masks: MaskSource) -> Self {
        let assembler = Assembler::new(config.max_message_size);
        WebSocket {
            shared: Arc::new(Shared {
                reader,
                writer,
                role,
                subprotocol,
                core: Mutex::new(Core { state: State::Open, out: Vec::new(), masks, ping_sent_at: None, last_seen: Instant::now() }),
                read: tokio::sync::Mutex::new(ReadSide { assembler, first: None, frame: None }),
                config,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.shared.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        self.shared.role
    }

    /// The subprotocol agreed in the opening handshake.
    pub fn subprotocol(&self) -> Option<&str> {
        self.shared.subprotocol.as_deref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &WsConfig {
        &self.shared.config
    }

    /// True while neither side has sent Close.
    pub fn is_open(&self) -> bool {
        matches!(self.lock().state, State::Open)
    }

    /// The outcome, once the connection is closed (or closing by the peer).
    pub fn close_outcome(&self) -> Option<CloseOutcome> {
        match &self.lock().state {
            State::Closed(o) | State::ClosingByPeer(o) => Some(o.clone()),
            _ => None,
        }
    }

    // ----- sending -------------------------------------------------------------------------

    /// Writes one frame under the core lock. The caller drains afterwards.
    fn write_frame(&self, core: &mut Core, opcode: OpCode, fin: bool, payload: &[u8]) -> Result<()> {
        // RFC 6455 §5.1: "a client MUST mask all frames that it sends to the server"; "A server
        // MUST NOT mask any frames that it sends to the client". §5.3: "the client MUST pick a
        // fresh masking key from the set of allowed 32-bit values".
        let mask = (self.shared.role == Role::Client).then(|| core.masks.next_mask());
        let header = FrameHeader::new(opcode, fin, payload.len() as u64, mask);
        core.out.clear();
        if core.out.capacity() > 1 << 20 {
            // Do not keep a huge frame's buffer for the connection's lifetime.
            core.out = Vec::new();
        }
        if mask.is_none() && payload.len() > 4096 {
            // Unmasked and large: hand the payload to the writer as is, saving a copy.
            header.format(&mut core.out);
            self.shared.writer.write(&core.out)?;
            self.shared.writer.write(payload)?;
        } else {
            encode(&header, payload, &mut core.out);
            self.shared.writer.write(&core.out)?;
        }
        Ok(())
    }

    /// Fails unless the connection is open.
    fn check_open(core: &Core) -> Result<()> {
        // RFC 6455 §5.5.1: "The application MUST NOT send any more data frames after sending a
        // Close frame"; after receiving one, the connection is closing or closed.
        match &core.state {
            State::Open => Ok(()),
            State::ClosingByUs => Err(Error::ConnectionClosed(CloseOutcome::unclean(Initiator::Us))),
            State::ClosingByPeer(o) | State::Closed(o) => Err(Error::ConnectionClosed(o.clone())),
        }
    }

    async fn drain(&self) -> Result<()> {
        self.shared.writer.drain().await.map_err(Error::Transport)
    }

    /// Flushes a Close on the way out; a peer that does not read gets `close_timeout`, then
    /// the connection is closed regardless.
    async fn drain_bounded(&self) {
        let _ = tokio::time::timeout(self.shared.config.close_timeout, self.shared.writer.drain()).await;
    }

    /// Writes one frame if the connection is open, then drains.
    async fn send_frame(&self, opcode: OpCode, payload: &[u8]) -> Result<()> {
        {
            let mut core = self.lock();
            Self::check_open(&core)?;
            self.write_frame(&mut core, opcode, true, payload)?;
        }
        self.drain().await
    }

    /// Sends one message in a single frame (`ws_send`).
    pub async fn send(&self, message: &Message) -> Result<()> {
        self.send_frame(message.opcode(), message.as_bytes()).await
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: &str) -> Result<()> {
        self.send_frame(OpCode::Text, text.as_bytes()).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, data: &[u8]) -> Result<()> {
        self.send_frame(OpCode::Binary, data).await
    }

    /// Sends one message as several frames (§5.4): the first with `opcode` (Text or Binary),
    /// the rest as continuations, FIN on the last. Text fragments may split code points; the
    /// whole must be valid UTF-8.
    pub async fn send_fragmented(&self, opcode: OpCode, fragments: &[&[u8]]) -> Result<()> {
        if !matches!(opcode, OpCode::Text | OpCode::Binary) || fragments.is_empty() {
            return Err(Error::Usage(format!("send_fragmented needs Text or Binary and at least one fragment, got {opcode} x{}", fragments.len())));
        }
        if opcode == OpCode::Text && std::str::from_utf8(&fragments.concat()).is_err() {
            return Err(Error::Usage("text fragments do not join into valid UTF-8".into()));
        }
        {
            let mut core = self.lock();
            Self::check_open(&core)?;
            for (i, frag) in fragments.iter().enumerate() {
                let op = if i == 0 { opcode } else { OpCode::Continuation };
                self.write_frame(&mut core, op, i + 1 == fragments.len(), frag)?;
            }
        }
        self.drain().await
    }

    /// Sends a ping (`ws_ping`). The pong is consumed by `recv`.
    pub async fn ping(&self, data: &[u8]) -> Result<()> {
        Self::check_control_len("ping", data)?;
        self.send_frame(OpCode::Ping, data).await
    }

    /// Sends an unsolicited pong (§5.5.3: "A Pong frame MAY be sent unsolicited").
    pub async fn pong(&self, data: &[u8]) -> Result<()> {
        Self::check_control_len("pong", data)?;
        self.send_frame(OpCode::Pong, data).await
    }

    fn check_control_len(what: &str, data: &[u8]) -> Result<()> {
        // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
        if data.len() > 125 {
            return Err(Error::Usage(format!("{what} payload of {} bytes; control frames carry at most 125 (RFC 6455 §5.5)", data.len())));
        }
        Ok(())
    }

    // ----- closing -------------------------------------------------------------------------

    /// Starts the closing handshake (`ws_close`) and waits, at most `close_timeout`, for the
    /// peer's Close; returns the peer's code and reason. Messages that arrive meanwhile are
    /// discarded unless another task is in `recv`. Closing a closed connection returns its
    /// outcome again.
    pub async fn close(&self, code: Option<u16>, reason: &str) -> Result<CloseOutcome> {
        if let Some(c) = code {
            // RFC 6455 §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a
            // Close control frame by an endpoint"; undefined ranges are not ours to send.
            if !CloseCode(c).is_allowed_on_wire() {
                return Err(Error::Usage(format!("close code {} may not be sent (RFC 6455 §7.4)", CloseCode(c))));
            }
        } else if !reason.is_empty() {
            return Err(Error::Usage("a close reason needs a close code (RFC 6455 §5.5.1)".into()));
        }
        if reason.len() > 123 {
            return Err(Error::Usage(format!("close reason of {} bytes; at most 123 fit in a control frame (RFC 6455 §5.5)", reason.len())));
        }
        {
            let mut core = self.lock();
            match &core.state {
                State::Open => {
                    let body = close_body(code, reason);
                    self.write_frame(&mut core, OpCode::Close, true, &body)?;
                    core.state = State::ClosingByUs;
                }
                State::ClosingByUs => {}
                State::ClosingByPeer(_) | State::Closed(_) => {}
            }
        }
        let wait = async {
            // Flushing our Close is part of the bounded wait: a peer that does not read
            // cannot hold `close` beyond `close_timeout`.
            let _ = self.drain().await;
            let mut rs = self.shared.read.lock().await;
            loop {
                match self.next_step(&mut rs).await {
                    Ok(Step::Event(Incoming::Closed(o))) => return Ok(o),
                    Ok(_) => continue,
                    Err(e) => return Err(e),
                }
            }
        };
        match tokio::time::timeout(self.shared.config.close_timeout, wait).await {
            Ok(r) => r,
            Err(_) => {
                // No Close from the peer in time: drop TCP (§7.1.1 lets either side do so).
                let outcome = CloseOutcome::unclean(Initiator::Us);
                self.lock().state = State::Closed(outcome.clone());
                self.shared.writer.close();
                Ok(outcome)
            }
        }
    }

    /// Echoes every message back until the connection ends (`ws_echo`); returns the outcome.
    pub async fn echo(&self) -> Result<CloseOutcome> {
        loop {
            match self.recv().await? {
                Incoming::Message(m) => match self.send(&m).await {
                    Ok(()) | Err(Error::ConnectionClosed(_)) => {}
                    Err(e) => return Err(e),
                },
                Incoming::Closed(o) => return Ok(o),
            }
        }
    }

    // ----- receiving -----------------------------------------------------------------------

    /// The next message, or the connection's end (`ws_recv`). Answers pings, consumes pongs,
    /// runs the keepalive timer, and fails the connection on any protocol violation (the
    /// error names the close code sent).
    pub async fn recv(&self) -> Result<Incoming> {
        let mut rs = self.shared.read.lock().await;
        loop {
            if let Step::Event(e) = self.next_step(&mut rs).await? {
                return Ok(e);
            }
        }
    }

    /// Reads and handles one frame (or resumes the one a cancelled call left).
    async fn next_step(&self, rs: &mut ReadSide) -> Result<Step> {
        if let State::Closed(o) = &self.lock().state {
            return Ok(Step::Event(Incoming::Closed(o.clone())));
        }
        let (header, mut offset) = match rs.frame {
            Some(progress) => progress,
            None => {
                let header = match self.read_header(rs).await {
                    Ok(Some(h)) => h,
                    Ok(None) => return Ok(self.on_eof()),
                    Err(e) => return self.on_read_error(e).await,
                };
                self.lock().last_seen = Instant::now();
                if let Err(e) = self.check_header(&header) {
                    return Err(self.fail(e).await);
                }
                if !header.opcode.is_control() {
                    if let Err(e) = rs.assembler.begin_frame(header.opcode, header.payload_len) {
                        return Err(self.fail(e).await);
                    }
                }
                rs.frame = Some((header, 0));
                (header, 0)
            }
        };
        if header.opcode.is_control() {
            // At most 125 bytes (checked above); readexactly takes all of them or none.
            let payload = match self.shared.reader.readexactly(header.payload_len as isize).await {
                Ok(p) => p,
                Err(e) => return self.on_read_error(e.into()).await,
            };
            rs.frame = None;
            let mut body = [0u8; 125];
            let body = &mut body[..payload.len()];
            body.copy_from_slice(&payload);
            if let Some(key) = header.mask {
                apply_mask(body, key, 0);
            }
            return self.on_control(header.opcode, body).await;
        }
        // A data frame: whatever has arrived, up to the frame's end, piece by piece. Text is
        // validated per piece, so bad UTF-8 fails the connection as soon as it arrives
        // (Autobahn 6.4.x). Each piece is consumed and recorded with no await in between.
        let len = header.payload_len as usize;
        while offset < len {
            let piece = match self.shared.reader.read((len - offset) as isize).await {
                Ok(p) if p.is_empty() => {
                    let partial = Bytes::new();
                    let e = StreamError::IncompleteRead { partial, expected: Some(len - offset) };
                    return self.on_read_error(Error::Transport(e)).await;
                }
                Ok(p) => p,
                Err(e) => return self.on_read_error(e.into()).await,
            };
            if let Err(e) = rs.assembler.push(&piece, header.mask, offset) {
                return Err(self.fail(e.into()).await);
            }
            offset += piece.len();
            rs.frame = Some((header, offset));
        }
        rs.frame = None;
        let message = match rs.assembler.end_frame(header.fin) {
            Ok(m) => m,
            Err(e) => return Err(self.fail(e.into()).await),
        };
        Ok(match message {
            Some(m) => Step::Event(Incoming::Message(m)),
            None => Step::Continue,
        })
    }

    /// Reads a frame header: two bytes, then the extended length and mask. While keepalive is
    /// on, waits for the first byte no longer than the ping schedule allows. `None`: EOF at a
    /// frame boundary.
    async fn read_header(&self, rs: &mut ReadSide) -> Result<Option<FrameHeader>> {
        let reader = &self.shared.reader;
        let first = match rs.first {
            Some(first) => Ok(Bytes::copy_from_slice(&first)),
            // The outer error is the keepalive's: the connection has been failed already.
            None => self.read_first_two(reader).await?,
        };
        let first = match first {
            Ok(b) => [b[0], b[1]],
            Err(StreamError::IncompleteRead { partial, .. }) if partial.is_empty() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        rs.first = Some(first);
        let extra = header::extra_len(first);
        let rest = if extra > 0 { reader.readexactly(extra as isize).await? } else { Bytes::new() };
        rs.first = None;
        header::parse_parts(first, &rest).map(Some).map_err(Error::Protocol)
    }

    /// The header's first two bytes, running the keepalive schedule while waiting for them.
    async fn read_first_two(&self, reader: &StreamReader) -> Result<Result<Bytes, StreamError>> {
        Ok(match self.shared.config.ping_interval {
            None => reader.readexactly(2).await,
            Some(interval) => loop {
                let (deadline, awaiting) = {
                    let core = self.lock();
                    match core.ping_sent_at {
                        Some(t) => (t + self.shared.config.ping_timeout, true),
                        None => (core.last_seen + interval, false),
                    }
                };
                tokio::select! {
                    biased;
                    r = reader.readexactly(2) => break r,
                    _ = tokio::time::sleep_until(deadline) => {
                        if awaiting {
                            let after_ms = self.shared.config.ping_timeout.as_millis();
                            let err = Error::Timeout(TimeoutError::Keepalive { after_ms });
                            return Err(self.fail_with(err, CloseCode::INTERNAL_ERROR).await);
                        }
                        let mut core = self.lock();
                        if matches!(core.state, State::Open) {
                            let _ = self.write_frame(&mut core, OpCode::Ping, true, b"keepalive");
                        }
                        core.ping_sent_at = Some(Instant::now());
                    }
                }
            },
        })
    }

    /// The per-frame rules that need no message state.
    fn check_header(&self, h: &FrameHeader) -> Result<()> {
        // RFC 6455 §5.2: "RSV1, RSV2, RSV3: MUST be 0 unless an extension is negotiated that
        // defines meanings for non-zero values. If a nonzero value is received and none of the
        // negotiated extensions defines the meaning of such a nonzero value, the receiving
        // endpoint MUST _Fail the WebSocket Connection_." We negotiate no extension.
        if h.rsv != 0 {
            return Err(ProtocolError::ReservedBits { rsv: h.rsv }.into());
        }
        // RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail
        // the WebSocket Connection_."
        if let OpCode::Reserved(op) = h.opcode {
            return Err(ProtocolError::ReservedOpcode { opcode: op }.into());
        }
        match (self.shared.role, h.mask.is_some()) {
            // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that
            // is not masked."
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame.into()),
            // RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame.into()),
            _ => {}
        }
        if h.opcode.is_control() {
            // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or
            // less and MUST NOT be fragmented."
            if h.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong { opcode: h.opcode, len: h.payload_len }.into());
            }
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame { opcode: h.opcode }.into());
            }
        } else {
            // RFC 6455 §10.4: limit frame sizes, before reading or reserving the payload.
            check_frame_size(h.payload_len, self.shared.config.max_frame_size)?;
        }
        Ok(())
    }

    async fn on_control(&self, opcode: OpCode, body: &[u8]) -> Result<Step> {
        match opcode {
            OpCode::Ping => {
                {
                    let mut core = self.lock();
                    // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a
                    // Pong frame in response, unless it already received a Close frame" — and
                    // §5.5.3: "A Pong frame sent in response to a Ping frame must have
                    // identical Application data". After our own Close we stay silent too.
                    if !matches!(core.state, State::Open) {
                        return Ok(Step::Continue);
                    }
                    self.write_frame(&mut core, OpCode::Pong, true, body)?;
                }
                self.drain().await?;
                Ok(Step::Continue)
            }
            OpCode::Pong => {
                // §5.5.3: a pong answers our keepalive ping, or is unsolicited and ignored.
                self.lock().ping_sent_at = None;
                Ok(Step::Continue)
            }
            OpCode::Close => {
                let (code, reason) = match parse_close_body(body) {
                    Ok(cr) => cr,
                    Err(e) => return Err(self.fail(e.into()).await),
                };
                self.on_peer_close(code, reason).await
            }
            _ => unreachable!("on_control with a data opcode"),
        }
    }

    /// The peer's Close arrived (valid).
    async fn on_peer_close(&self, code: Option<u16>, reason: String) -> Result<Step> {
        let outcome = {
            let mut core = self.lock();
            match core.state {
                State::Open => {
                    // RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not
                    // previously send a Close frame, the endpoint MUST send a Close frame in
                    // response ... typically echoing the status code it received."
                    let body = close_body(code, "");
                    let outcome = CloseOutcome { code, reason, clean: true, initiated_by: Initiator::Peer };
                    let _ = self.write_frame(&mut core, OpCode::Close, true, &body);
                    core.state = State::ClosingByPeer(outcome.clone());
                    outcome
                }
                // We had sent Close already: this is the reply (§7.1.2, handshake complete).
                _ => CloseOutcome { code, reason, clean: true, initiated_by: Initiator::Us },
            }
        };
        self.drain_bounded().await;
        self.close_transport().await;
        self.lock().state = State::Closed(outcome.clone());
        Ok(Step::Event(Incoming::Closed(outcome)))
    }

    /// After both Close frames: RFC 6455 §7.1.1, "the underlying TCP connection, in most
    /// normal cases, SHOULD be closed first by the server", and the client waits for it,
    /// for at most `close_timeout`, before closing itself.
    async fn close_transport(&self) {
        if self.shared.role == Role::Client {
            let reader = &self.shared.reader;
            let until_eof = async {
                loop {
                    match reader.read(64 * 1024).await {
                        Ok(b) if !b.is_empty() => continue,
                        _ => break,
                    }
                }
            };
            let _ = tokio::time::timeout(self.shared.config.close_timeout, until_eof).await;
        }
        self.shared.writer.close();
    }

    /// RFC 6455 §7.1.7 "Fail the WebSocket Connection": send a Close frame with the error's
    /// code (if none was sent yet), then close the connection; no more data is processed.
    async fn fail(&self, err: Error) -> Error {
        let code = err.close_code_sent().unwrap_or(CloseCode::PROTOCOL_ERROR);
        self.fail_with(err, code).await
    }

    async fn fail_with(&self, err: Error, code: CloseCode) -> Error {
        {
            let mut core = self.lock();
            if matches!(core.state, State::Open) {
                let reason = match &err {
                    Error::Protocol(p) => p.short_reason(),
                    Error::Capacity(_) => "message too big",
                    _ => "",
                };
                let _ = self.write_frame(&mut core, OpCode::Close, true, &close_body(Some(code.0), reason));
            }
            core.state = State::Closed(CloseOutcome::unclean(Initiator::Us));
        }
        self.drain_bounded().await;
        self.close_transport().await;
        err
    }

    /// A clean EOF between frames: the peer went away without (finishing) a closing handshake
    /// (§7.1.5: the close code is then 1006, which is never sent). An outcome, not an error.
    fn on_eof(&self) -> Step {
        let mut core = self.lock();
        let outcome = match &core.state {
            State::Closed(o) => o.clone(),
            State::ClosingByUs => CloseOutcome::unclean(Initiator::Us),
            _ => CloseOutcome::unclean(Initiator::Transport),
        };
        core.state = State::Closed(outcome.clone());
        drop(core);
        self.shared.writer.close();
        Step::Event(Incoming::Closed(outcome))
    }

    /// A transport error (or EOF inside a frame) while reading.
    async fn on_read_error(&self, err: Error) -> Result<Step> {
        if matches!(err, Error::Timeout(_)) {
            // The keepalive already failed the connection.
            return Err(err);
        }
        let closed = match &self.lock().state {
            State::Closed(o) => Some(o.clone()),
            _ => None,
        };
        // Closed under us (our close timed out, or we failed the connection): report that.
        if let Some(o) = closed {
            return Ok(Step::Event(Incoming::Closed(o)));
        }
        if matches!(err, Error::Protocol(_)) {
            return Err(self.fail(err).await);
        }
        self.lock().state = State::Closed(CloseOutcome::unclean(Initiator::Transport));
        self.shared.writer.close();
        Err(err)
    }
}
