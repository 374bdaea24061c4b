//! The reference implementation that streamcheck judges every other implementation against.
//!
//! - [`stream`]: asyncio's `StreamReader` / `StreamWriter`, reproduced exactly. CPython 3.13 is
//!   the oracle: same results, same error types, same messages, same order of checks.
//! - The same code runs over tokio's `TcpStream` and inside turmoil's simulated network, because
//!   the transport is any `AsyncRead + AsyncWrite`.

pub mod stream;
/// RFC 6455 WebSocket client and server on top of [`stream`].
pub mod ws;
