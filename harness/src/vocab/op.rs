//! `Op`: one operation of the implementation under test, named as in docs/driver-protocol.md.
//!
//! The same type is read from scenario steps (`subject: {read: 5}`, `subject: readline`), run
//! in process by the reference subject, and sent to outside adapters as an `op`-tagged JSON line
//! (its serialized form lives in [`super::wire`]). Extensions to the protocol are marked
//! "extension" and listed in docs/extensions.md.

use super::bytes::ByteString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The separator argument of `readuntil`: one byte string, or `{any: [...]}` for CPython
/// 3.13's tuple form (the match that ends first wins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Separator {
    Any {
        /// Several separators, CPython 3.13's tuple form.
        any: Vec<ByteString>,
    },
    One(ByteString),
}

/// Arguments of `set_write_buffer_limits` (extension).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaterMarks {
    pub high: Option<i64>,
    pub low: Option<i64>,
}

/// What `ws_send` sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WsPayload {
    Text(String),
    Binary(ByteString),
}

/// Arguments of `ws_close`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WsCloseArgs {
    pub code: Option<u16>,
    #[serde(default)]
    pub reason: String,
}

/// Where a stream session opens: `open_connection(host, port, limit=...)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    pub host: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// Where a stream server listens: `start_server(host, 0, limit=...)`; the port is the subject's choice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// One operation on the subject. Unit operations are written as a bare word (`readline`).
///
/// The session operations (`open_connection`, `start_server`, `reset`) are played by the
/// harness when a scenario opens and ends, so scenario files cannot name them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Session: the subject connects to the peer and becomes the client.
    #[serde(skip_deserializing)]
    #[schemars(skip)]
    OpenConnection(Connect),
    /// Session: the subject listens; the first connection it accepts becomes the session.
    #[serde(skip_deserializing)]
    #[schemars(skip)]
    StartServer(Listen),
    /// Session: closes everything the subject holds, so it can serve the next scenario.
    #[serde(skip_deserializing)]
    #[schemars(skip)]
    Reset,
    /// `read(n)`: n < 0 reads to EOF.
    Read(i64),
    /// `readline()`.
    Readline,
    /// `readexactly(n)`.
    Readexactly(i64),
    /// `readuntil(separator)`.
    Readuntil(Separator),
    /// `at_eof()`.
    AtEof,
    /// `write(data)`.
    Write(ByteString),
    /// `writelines(list)`.
    Writelines(Vec<ByteString>),
    /// `drain()`.
    Drain,
    /// `write_eof()`.
    WriteEof,
    /// `can_write_eof()`.
    CanWriteEof,
    /// `close()`.
    Close,
    /// `wait_closed()`.
    WaitClosed,
    /// `is_closing()`.
    IsClosing,
    /// `transport.get_write_buffer_size()`.
    GetWriteBufferSize,
    /// `transport.set_write_buffer_limits(high, low)` (extension).
    SetWriteBufferLimits(WaterMarks),
    /// `ws_send`: `{ws_send: {text: "hi"}}` or `{ws_send: {binary: {hex: "00ff"}}}`.
    WsSend(WsPayload),
    /// `ws_recv`.
    WsRecv,
    /// `ws_ping`, with optional data.
    WsPing(#[serde(default)] Option<ByteString>),
    /// `ws_close`.
    WsClose(#[serde(default)] WsCloseArgs),
    /// `ws_echo`: echoes until the connection ends.
    WsEcho,
}

impl Op {
    /// The operation's name in the driver protocol and in transcripts.
    pub fn name(&self) -> &'static str {
        match self {
            Op::OpenConnection(_) => "open_connection",
            Op::StartServer(_) => "start_server",
            Op::Reset => "reset",
            Op::Read(_) => "read",
            Op::Readline => "readline",
            Op::Readexactly(_) => "readexactly",
            Op::Readuntil(_) => "readuntil",
            Op::AtEof => "at_eof",
            Op::Write(_) => "write",
            Op::Writelines(_) => "writelines",
            Op::Drain => "drain",
            Op::WriteEof => "write_eof",
            Op::CanWriteEof => "can_write_eof",
            Op::Close => "close",
            Op::WaitClosed => "wait_closed",
            Op::IsClosing => "is_closing",
            Op::GetWriteBufferSize => "get_write_buffer_size",
            Op::SetWriteBufferLimits(_) => "set_write_buffer_limits",
            Op::WsSend(_) => "ws_send",
            Op::WsRecv => "ws_recv",
            Op::WsPing(_) => "ws_ping",
            Op::WsClose(_) => "ws_close",
            Op::WsEcho => "ws_echo",
        }
    }

    /// Whether the result legitimately depends on how the input was chunked (`read(n)` returns
    /// what has arrived), so chunk fuzzing compares it by the weaker rule.
    pub fn chunking_sensitive(&self) -> bool {
        matches!(self, Op::Read(n) if *n > 0)
    }

    /// The form of this operation's `ok` value, which the driver wire checks replies against.
    pub fn ok_form(&self) -> OkForm {
        match self {
            Op::Read(_) | Op::Readline | Op::Readexactly(_) | Op::Readuntil(_) => OkForm::Bytes,
            Op::AtEof | Op::CanWriteEof | Op::IsClosing => OkForm::Bool,
            Op::GetWriteBufferSize => OkForm::Int,
            Op::StartServer(_) => OkForm::Port,
            Op::WsRecv => OkForm::Message,
            Op::WsClose(_) | Op::WsEcho => OkForm::Close,
            Op::OpenConnection(_)
            | Op::Reset
            | Op::Write(_)
            | Op::Writelines(_)
            | Op::Drain
            | Op::WriteEof
            | Op::Close
            | Op::WaitClosed
            | Op::SetWriteBufferLimits(_)
            | Op::WsSend(_)
            | Op::WsPing(_) => OkForm::Null,
        }
    }

    /// A short human rendering for transcripts: `readuntil "\r\n"`.
    pub fn describe(&self) -> String {
        use super::bytes::show;
        match self {
            Op::OpenConnection(c) => format!("open_connection {}:{}", c.host, c.port),
            Op::StartServer(_) => "start_server".into(),
            Op::Read(n) | Op::Readexactly(n) => format!("{} {n}", self.name()),
            Op::Readuntil(Separator::One(s)) => format!("readuntil {}", show(s.as_slice())),
            Op::Readuntil(Separator::Any { any }) => {
                format!("readuntil ({})", any.iter().map(|s| show(s.as_slice())).collect::<Vec<_>>().join(", "))
            }
            Op::Write(d) => format!("write {}", show(d.as_slice())),
            Op::Writelines(d) => format!("writelines [{}]", d.iter().map(|s| show(s.as_slice())).collect::<Vec<_>>().join(", ")),
            Op::SetWriteBufferLimits(w) => {
                let marks: Vec<String> = [("high", w.high), ("low", w.low)].iter().filter_map(|(k, v)| v.map(|v| format!("{k}={v}"))).collect();
                format!("set_write_buffer_limits {}", marks.join(" "))
            }
            Op::WsSend(WsPayload::Text(t)) => format!("ws_send text {t:?}"),
            Op::WsSend(WsPayload::Binary(b)) => format!("ws_send binary {}", show(b.as_slice())),
            Op::WsClose(a) => format!("ws_close {:?} {:?}", a.code, a.reason),
            _ => self.name().to_string(),
        }
    }
}

/// The forms an `ok` value takes, per operation (docs/driver-protocol.md, the ops tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OkForm {
    Null,
    Bool,
    Int,
    Bytes,
    /// `{"port": N}`.
    Port,
    /// `{"text": S}` or `{"binary": bytes}`.
    Message,
    /// `{"code": N or null, "reason": S}`.
    Close,
}
