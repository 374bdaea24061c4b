//! An implementation behind an adapter process, over the driver protocol. One process serves
//! scenario after scenario (`reset` between them); after anything that breaks the protocol it
//! is killed, process group and all, and a fresh one serves the next scenario.

use super::driver::{Conn, Sent, StartError};
use super::{Broken, BoxFuture, Started, Subject};
use crate::vocab::op::Op;
use crate::vocab::outcome::Outcome;
use crate::vocab::wire::{decode_ok, Final, Hello};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How an adapter is started and bounded.
#[derive(Clone, Debug)]
pub struct AdapterSpec {
    /// The command line, run by `sh -c`.
    pub command: String,
    /// The folder it runs in (default: the current one).
    pub dir: Option<std::path::PathBuf>,
    /// How long a request may take (the step deadline on loopback), and a cancel.
    pub deadline: Duration,
    /// How long the hello may take.
    pub hello_deadline: Duration,
    /// How long the harness waits for `started` before going on without it.
    pub started_grace: Duration,
}

impl AdapterSpec {
    pub fn new(command: &str) -> AdapterSpec {
        AdapterSpec {
            command: command.to_string(),
            dir: None,
            deadline: crate::run::LOOPBACK_DEADLINE,
            hello_deadline: Duration::from_secs(10),
            started_grace: Duration::from_millis(100),
        }
    }
}

/// After this many failed starts in a row, the remaining scenarios are not tried.
pub const MAX_FAILED_STARTS: usize = 3;

/// The subject behind an adapter process.
pub struct ProcessSubject {
    spec: AdapterSpec,
    conn: Mutex<Option<Arc<Conn>>>,
    failed_starts: Mutex<(usize, Option<String>)>,
}

impl ProcessSubject {
    pub fn new(spec: AdapterSpec) -> ProcessSubject {
        ProcessSubject { spec, conn: Mutex::new(None), failed_starts: Mutex::new((0, None)) }
    }

    fn current(&self) -> Option<Arc<Conn>> {
        self.conn.lock().expect("conn lock").clone()
    }

    /// Makes sure an adapter is running for the next scenario and returns its hello.
    pub async fn ready(&self) -> Result<Hello, StartError> {
        if let Some(c) = self.current().filter(|c| !c.is_broken()) {
            c.forget_recent();
            return Ok(c.hello.clone());
        }
        self.stop().await;
        {
            let (failed, last) = &*self.failed_starts.lock().expect("starts lock");
            if *failed >= MAX_FAILED_STARTS {
                let last = last.clone().unwrap_or_default();
                return Err(StartError::Failed(format!("not tried: the adapter failed to start {failed} times in a row (last: {last})")));
            }
        }
        match Conn::start(&self.spec.command, self.spec.dir.as_deref(), self.spec.hello_deadline).await {
            Ok(conn) => {
                *self.failed_starts.lock().expect("starts lock") = (0, None);
                let hello = conn.hello.clone();
                *self.conn.lock().expect("conn lock") = Some(Arc::new(conn));
                Ok(hello)
            }
            Err(e) => {
                let mut f = self.failed_starts.lock().expect("starts lock");
                f.0 += 1;
                f.1 = Some(e.message().to_string());
                Err(e)
            }
        }
    }

    /// Ends a scenario: `reset` on a healthy adapter, or kill a broken or unresponsive one.
    /// `Err` says how an adapter that seemed healthy broke while the scenario ended (a second
    /// reply after the last step, a reset it did not answer), with what it showed: the scenario
    /// is then ERROR too.
    pub async fn end_scenario(&self, healthy: bool) -> Result<(), (String, String)> {
        let Some(conn) = self.current() else { return Ok(()) };
        if !healthy {
            self.stop().await;
            return Ok(());
        }
        let reset = tokio::time::timeout(self.spec.deadline, self.call(Op::Reset, tokio::sync::oneshot::channel().0)).await;
        let outcome = match reset {
            Ok(Ok(Outcome::Ok(_))) => conn.settle(self.spec.deadline).await.map_err(|b| b.0),
            Ok(Ok(other)) => Err(format!("the adapter answered `reset` with {}", other.show())),
            Ok(Err(broken)) => Err(broken.0),
            Err(_) => Err(format!("the adapter did not answer `reset` within {}s", self.spec.deadline.as_secs_f64())),
        };
        if outcome.is_err() {
            self.stop().await;
        }
        outcome.map_err(|why| (format!("after the last step: {why}"), conn.evidence()))
    }

    /// Kills the adapter, if one runs.
    pub async fn stop(&self) {
        let conn = self.conn.lock().expect("conn lock").take();
        if let Some(conn) = conn {
            conn.kill().await;
        }
    }

    /// Operations that went on without the adapter's `started` since it started.
    pub fn unstarted(&self) -> usize {
        self.current().map_or(0, |c| c.unstarted())
    }
}

/// Cancels its request when dropped before the final reply came (a timeout, a cancelled step).
struct CancelOnDrop {
    conn: Arc<Conn>,
    id: u64,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.conn.cancel(self.id);
        }
    }
}

impl Subject for ProcessSubject {
    fn call(&self, op: Op, started: Started) -> BoxFuture<'static, Result<Outcome, Broken>> {
        let conn = self.current();
        let grace = self.spec.started_grace;
        Box::pin(async move {
            let conn = conn.ok_or_else(|| Broken("the adapter is not running".into()))?;
            let Sent { id, len, started: started_rx, reply } = conn.send(&op)?;
            let mut guard = CancelOnDrop { conn: conn.clone(), id, armed: true };
            // A long request takes a while to read: the grace grows by 1 ms per 8 KiB of it.
            let grace = grace + Duration::from_micros(len as u64 / 8);
            let relay = {
                let conn = conn.clone();
                async move {
                    if tokio::time::timeout(grace, started_rx).await.is_err() {
                        conn.stand_in_for_started(id);
                    }
                    let _ = started.send(());
                }
            };
            let (_, reply) = tokio::join!(relay, reply);
            guard.armed = false;
            let reply = reply.map_err(|_| Broken("the adapter's connection ended".into()))??;
            let name = op.name();
            let out = match reply {
                Final::Ok(v) => decode_ok(op.ok_form(), v).map(Outcome::Ok).map_err(|e| format!("answered `{name}` with a value of the wrong form: {e}")),
                Final::Error(e) => e.into_outcome().map(Outcome::Error).map_err(|e| format!("answered `{name}` with an error the protocol does not have: {e}")),
                Final::Cancelled => Err(format!("answered `{name}` (id {id}) as cancelled, but the harness never cancelled it")),
            };
            out.map_err(|why| conn.break_with(format!("the adapter {why}")))
        })
    }

    fn settle(&self) -> BoxFuture<'static, Result<(), Broken>> {
        let conn = self.current();
        let deadline = self.spec.deadline;
        Box::pin(async move {
            match conn {
                Some(c) => c.settle(deadline).await,
                None => Ok(()),
            }
        })
    }

    fn evidence(&self) -> String {
        self.current().map_or(String::new(), |c| c.evidence())
    }
}
