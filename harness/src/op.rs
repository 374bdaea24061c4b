//! `Op`: one operation of the implementation under test, named as in DRIVER-PROTOCOL.md.
//!
//! The same type is read from scenario steps (`subject: {read: 5}`, `subject: readline`), run
//! in process by the reference subject, and sent to outside adapters as an `op`-tagged JSON line
//! ([`Op::to_driver`]). Extensions to the contract are marked "extension" and listed in
//! docs/extensions.md.

use crate::bytes::ByteString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

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

/// One operation on the subject. Unit operations are written as a bare word (`readline`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
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

    /// The operation as the driver protocol's request line, without the `id`.
    pub fn to_driver(&self) -> Json {
        let mut v = match self {
            Op::Read(n) | Op::Readexactly(n) => json!({"n": n}),
            Op::Readuntil(Separator::One(s)) => json!({"separator": s}),
            Op::Readuntil(Separator::Any { any }) => json!({"separators": any}),
            Op::Write(d) => json!({"data": d}),
            Op::Writelines(d) => json!({"data": d}),
            Op::SetWriteBufferLimits(w) => json!({"high": w.high, "low": w.low}),
            Op::WsSend(WsPayload::Text(t)) => json!({"text": t}),
            Op::WsSend(WsPayload::Binary(b)) => json!({"binary": b}),
            Op::WsPing(Some(d)) => json!({"data": d}),
            Op::WsClose(a) => json!({"code": a.code, "reason": a.reason}),
            _ => json!({}),
        };
        v["op"] = json!(self.name());
        v
    }

    /// A short human rendering for transcripts: `readuntil "\r\n"`.
    pub fn describe(&self) -> String {
        use crate::bytes::show;
        match self {
            Op::Read(n) | Op::Readexactly(n) => format!("{} {n}", self.name()),
            Op::Readuntil(Separator::One(s)) => format!("readuntil {}", show(s.as_slice())),
            Op::Readuntil(Separator::Any { any }) => {
                format!("readuntil ({})", any.iter().map(|s| show(s.as_slice())).collect::<Vec<_>>().join(", "))
            }
            Op::Write(d) => format!("write {}", show(d.as_slice())),
            Op::Writelines(d) => format!("writelines [{}]", d.iter().map(|s| show(s.as_slice())).collect::<Vec<_>>().join(", ")),
            Op::SetWriteBufferLimits(w) => format!("set_write_buffer_limits high={:?} low={:?}", w.high, w.low),
            Op::WsSend(WsPayload::Text(t)) => format!("ws_send text {t:?}"),
            Op::WsSend(WsPayload::Binary(b)) => format!("ws_send binary {}", show(b.as_slice())),
            Op::WsClose(a) => format!("ws_close {:?} {:?}", a.code, a.reason),
            _ => self.name().to_string(),
        }
    }
}
