//! `streamcheck adapter reference`: the reference implementation behind the driver protocol, on
//! stdin and stdout, over real TCP. It is the control for the loopback world: run through it,
//! every scenario must get the verdict it gets in the simulation (harness/tests/control.rs).
//!
//! Every request runs as its own task on one thread, as asyncio runs them; `started` is sent
//! once an operation has been polled and is still waiting.

use crate::run::subject::driver::LineReader;
use crate::run::subject::reference::Reference;
use crate::run::subject::Subject;
use crate::vocab::op::Op;
use crate::vocab::outcome::Outcome;
use crate::vocab::wire::{AdapterLine, Hello, Request, WireError, WireOp, PROTOCOL_VERSION};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use streamcheck_impl::stream::TokioNet;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The hello of the reference adapter: no `cpython`, so it is judged by the canonical outcomes.
pub fn reference_hello() -> Hello {
    Hello {
        protocol: PROTOCOL_VERSION,
        name: "streamcheck-reference".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        capabilities: vec!["stream".into()],
        unsupported: vec![],
        cpython: None,
    }
}

/// Serves the reference on this process's stdin and stdout until stdin closes.
pub fn serve_reference() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(serve(tokio::io::stdin(), tokio::io::stdout(), Arc::new(Reference::<TokioNet>::new()), reference_hello()))
}

/// A request in flight: how to cancel it, and its task (done once its final reply is queued).
struct Running {
    cancel: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

type Table = Arc<Mutex<BTreeMap<u64, Running>>>;

/// Serves `subject` over the driver protocol on `input` / `output`.
pub async fn serve<R, W>(input: R, mut output: W, subject: Arc<dyn Subject>, hello: Hello) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (lines, mut to_write) = mpsc::unbounded_channel::<AdapterLine>();
    let writer = tokio::spawn(async move {
        while let Some(line) = to_write.recv().await {
            let mut text = serde_json::to_string(&line).expect("adapter lines serialize");
            text.push('\n');
            output.write_all(text.as_bytes()).await?;
            output.flush().await?;
        }
        Ok::<(), std::io::Error>(())
    });
    let _ = lines.send(AdapterLine::Hello { hello });
    let table: Table = Arc::default();
    let mut input = LineReader::new(input);
    while let Some(line) = input.next().await.map_err(std::io::Error::other)? {
        let request: Request = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("streamcheck adapter: ignoring a request that does not parse ({e})");
                continue;
            }
        };
        match request.op {
            WireOp::Cancel { target } => {
                let (table, lines) = (table.clone(), lines.clone());
                tokio::spawn(async move {
                    cancel(&table, target).await;
                    let _ = lines.send(AdapterLine::Ok { id: request.id, ok: serde_json::Value::Null });
                });
            }
            WireOp::Reset => {
                let running: Vec<u64> = table.lock().expect("table lock").keys().copied().collect();
                for id in running {
                    cancel(&table, id).await;
                }
                start(&table, request.id, Op::Reset, subject.clone(), lines.clone());
            }
            op => match op.into_op() {
                Ok(op) => start(&table, request.id, op, subject.clone(), lines.clone()),
                Err(why) => {
                    let error = WireError { kind: "ValueError".into(), message: Some(why), ..WireError::default() };
                    let _ = lines.send(AdapterLine::Error { id: request.id, error });
                }
            },
        }
    }
    drop(lines);
    for (_, r) in std::mem::take(&mut *table.lock().expect("table lock")) {
        r.task.abort();
    }
    writer.abort();
    Ok(())
}

/// Runs one operation as its own task and queues its replies.
fn start(table: &Table, id: u64, op: Op, subject: Arc<dyn Subject>, lines: mpsc::UnboundedSender<AdapterLine>) {
    let (cancel_tx, cancelled) = oneshot::channel();
    let (started_tx, started) = oneshot::channel();
    let done_table = table.clone();
    let mut table = table.lock().expect("table lock");
    let task = tokio::spawn(async move {
        let call = subject.call(op, started_tx);
        tokio::pin!(call, cancelled);
        let mut started = Some(started);
        let line = loop {
            tokio::select! {
                biased;
                _ = &mut cancelled => break AdapterLine::Cancelled { id, cancelled: true },
                out = &mut call => break final_line(id, out.map_err(|b| b.0)),
                Ok(()) = async { started.as_mut().expect("guarded").await }, if started.is_some() => {
                    started = None;
                    let _ = lines.send(AdapterLine::Started { id, started: true });
                }
            }
        };
        let _ = lines.send(line);
        done_table.lock().expect("table lock").remove(&id);
    });
    table.insert(id, Running { cancel: cancel_tx, task });
}

/// Cancels request `id` and waits until its final reply is queued.
async fn cancel(table: &Table, id: u64) {
    let running = table.lock().expect("table lock").remove(&id);
    if let Some(r) = running {
        let _ = r.cancel.send(());
        let _ = r.task.await;
    }
}

fn final_line(id: u64, out: Result<Outcome, String>) -> AdapterLine {
    match out {
        Ok(Outcome::Ok(v)) => AdapterLine::Ok { id, ok: serde_json::to_value(&v).expect("values serialize") },
        Ok(Outcome::Error(e)) => AdapterLine::Error { id, error: WireError::from(&e) },
        Ok(Outcome::Timeout(_)) => AdapterLine::Error { id, error: WireError { kind: "Other".into(), class: Some("TimeoutError".into()), ..WireError::default() } },
        Err(why) => AdapterLine::Error { id, error: WireError { kind: "Other".into(), class: Some("Broken".into()), message: Some(why), ..WireError::default() } },
    }
}
