//! The reference implementation (impl/) as a subject, in process, over any network impl/ knows:
//! turmoil's sockets in the simulation, tokio's on loopback (and behind `streamcheck adapter
//! reference`). The mapping from impl's types onto the vocabulary lives here and nowhere else.

use super::{Broken, BoxFuture, FirstPoll, Started, Subject};
use crate::vocab::op::{Connect, Listen, Op, Separator};
use crate::vocab::outcome::{ErrorOutcome, ErrorType, Outcome, Value};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use streamcheck_impl::stream::{open_connection, start_server, Network, Server, StreamError, StreamReader, StreamWriter, DEFAULT_LIMIT};
use tokio::sync::watch;

/// The reference implementation over network `N` (`TurmoilNet` or `TokioNet`).
pub struct Reference<N> {
    session: watch::Sender<Option<Streams>>,
    server: Arc<Mutex<Option<Server>>>,
    net: PhantomData<fn() -> N>,
}

/// The reference's session: one reader and one writer.
#[derive(Clone)]
pub struct Streams {
    pub reader: StreamReader,
    pub writer: StreamWriter,
}

impl<N: Network> Reference<N> {
    pub fn new() -> Reference<N> {
        Reference { session: watch::channel(None).0, server: Arc::default(), net: PhantomData }
    }

    /// The session, once `open_connection` has connected or `start_server` has accepted.
    pub async fn streams(&self) -> Streams {
        let mut rx = self.session.subscribe();
        let ready = rx.wait_for(Option::is_some).await.expect("the sender lives in self");
        ready.clone().expect("waited for Some")
    }
}

impl<N: Network> Default for Reference<N> {
    fn default() -> Self {
        Reference::new()
    }
}

/// The vocabulary's form of impl's error.
pub fn error_outcome(e: &StreamError) -> ErrorOutcome {
    let mut out = ErrorOutcome { message: Some(e.to_string()), ..Default::default() };
    match e {
        StreamError::IncompleteRead { partial, expected } => {
            out.kind = Some(ErrorType::IncompleteRead);
            out.partial = Some(partial.clone().into());
            out.expected = Some(expected.map(|n| n as u64));
        }
        StreamError::LimitOverrun { consumed, .. } => {
            out.kind = Some(ErrorType::LimitOverrun);
            out.consumed = Some(*consumed as u64);
        }
        StreamError::ValueError(_) => out.kind = Some(ErrorType::ValueError),
        StreamError::ConnectionReset(_) => out.kind = Some(ErrorType::ConnectionReset),
        StreamError::BrokenPipe(_) => out.kind = Some(ErrorType::BrokenPipe),
        StreamError::RuntimeError(_) | StreamError::Other { .. } => {
            out.kind = Some(ErrorType::Other);
            out.class = Some(e.python_class().to_string());
        }
    }
    out
}

fn outcome<T>(r: Result<T, StreamError>, f: impl FnOnce(T) -> Value) -> Outcome {
    match r {
        Ok(v) => Outcome::Ok(f(v)),
        Err(e) => Outcome::Error(error_outcome(&e)),
    }
}

fn bytes(b: bytes::Bytes) -> Value {
    Value::Bytes(b.into())
}

fn null<T>(_: T) -> Value {
    Value::Null
}

/// The `Unsupported` outcome for an operation this subject lacks.
pub fn unsupported(op: &Op) -> Outcome {
    Outcome::Error(ErrorOutcome {
        kind: Some(ErrorType::Unsupported),
        op: Some(op.name().to_string()),
        message: Some(format!("the subject does not implement {}", op.name())),
        ..Default::default()
    })
}

impl<N: Network> Subject for Reference<N> {
    fn call(&self, op: Op, started: Started) -> BoxFuture<'static, Result<Outcome, Broken>> {
        let session = self.session.clone();
        let server = self.server.clone();
        let mut ready = self.session.subscribe();
        let running = async move {
            let out = match op {
                Op::OpenConnection(Connect { host, port, limit }) => {
                    let limit = limit.unwrap_or(DEFAULT_LIMIT as i64);
                    outcome(open_connection::<N>(&host, port, limit).await, |(reader, writer)| {
                        session.send_replace(Some(Streams { reader, writer }));
                        Value::Null
                    })
                }
                Op::StartServer(Listen { host, limit }) => serve::<N>(&host, limit, session, server).await,
                Op::Reset => {
                    if let Some(s) = session.send_replace(None) {
                        s.writer.close();
                    }
                    server.lock().expect("server lock").take();
                    Outcome::Ok(Value::Null)
                }
                op => {
                    let Ok(s) = ready.wait_for(Option::is_some).await.map(|s| s.clone().expect("waited for Some")) else {
                        return Ok(unsupported(&op));
                    };
                    on_streams(op, s).await
                }
            };
            Ok(out)
        };
        Box::pin(FirstPoll { inner: Box::pin(running), started: Some(started) })
    }
}

/// Listens; the first connection accepted becomes the session and the server stops accepting.
async fn serve<N: Network>(host: &str, limit: Option<i64>, session: watch::Sender<Option<Streams>>, server: Arc<Mutex<Option<Server>>>) -> Outcome {
    let limit = limit.unwrap_or(DEFAULT_LIMIT as i64);
    let slot = server.clone();
    let started = start_server::<N, _, _>(host, 0, limit, move |reader, writer| {
        let (session, slot) = (session.clone(), slot.clone());
        async move {
            if session.borrow().is_none() {
                session.send_replace(Some(Streams { reader, writer }));
                if let Some(s) = slot.lock().expect("server lock").as_ref() {
                    s.close();
                }
            }
        }
    })
    .await;
    outcome(started, |s| {
        let port = s.local_addr().port();
        *server.lock().expect("server lock") = Some(s);
        Value::Port { port }
    })
}

async fn on_streams(op: Op, s: Streams) -> Outcome {
    let Streams { reader, writer } = s;
    match &op {
        Op::Read(n) => outcome(reader.read(*n as isize).await, bytes),
        Op::Readline => outcome(reader.readline().await, bytes),
        Op::Readexactly(n) => outcome(reader.readexactly(*n as isize).await, bytes),
        Op::Readuntil(Separator::One(sep)) => outcome(reader.readuntil(sep.as_slice()).await, bytes),
        Op::Readuntil(Separator::Any { any }) => {
            let seps: Vec<&[u8]> = any.iter().map(|s| s.as_slice()).collect();
            outcome(reader.readuntil_any(&seps).await, bytes)
        }
        Op::AtEof => Outcome::Ok(Value::Bool(reader.at_eof())),
        Op::Write(d) => outcome(writer.write(d.as_slice()), null),
        Op::Writelines(d) => outcome(writer.writelines(d.iter().map(|b| b.as_slice())), null),
        Op::Drain => outcome(writer.drain().await, null),
        Op::WriteEof => {
            writer.write_eof();
            Outcome::Ok(Value::Null)
        }
        Op::CanWriteEof => Outcome::Ok(Value::Bool(writer.can_write_eof())),
        Op::Close => {
            writer.close();
            Outcome::Ok(Value::Null)
        }
        Op::WaitClosed => outcome(writer.wait_closed().await, null),
        Op::IsClosing => Outcome::Ok(Value::Bool(writer.is_closing())),
        Op::GetWriteBufferSize => Outcome::Ok(Value::Int(writer.get_write_buffer_size() as i64)),
        Op::SetWriteBufferLimits(w) => outcome(writer.set_write_buffer_limits(w.high, w.low), null),
        _ => unsupported(&op),
    }
}
