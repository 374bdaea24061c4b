//! asyncio streams, reproduced exactly (CPython 3.13 is the oracle).
//!
//! The layers follow asyncio's own split:
//! - [`reader`]: `StreamReader`, a buffer fed by a transport (or by hand, with `feed_data`).
//! - `buffer`: the reader's bytes, copied in or handed over as chunks (`feed_bytes`).
//! - [`writer`]: `StreamWriter` and the transport's write buffer, water marks and `drain`.
//! - [`transport`]: the task that binds any `AsyncRead + AsyncWrite` to a reader and a writer,
//!   the way asyncio's selector transport binds a socket to a `StreamReaderProtocol`.
//! - [`connection`]: `open_connection` / `start_server` over tokio or turmoil.
//! - [`error`]: the exceptions, with CPython's messages.

mod buffer;
pub mod connection;
pub mod error;
pub mod reader;
mod search;
pub mod transport;
pub mod writer;

pub use connection::{open_connection, start_server, Network, Server, TokioNet, TurmoilNet, TurmoilSocket};
pub use error::StreamError;
pub use reader::{LineBatch, Lines, StreamReader, DEFAULT_LIMIT};
pub use transport::{open_stream, StreamOptions};
pub use writer::StreamWriter;
