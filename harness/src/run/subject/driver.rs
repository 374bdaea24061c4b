//! One adapter process and the JSON Lines spoken with it (docs/driver-protocol.md): spawning it
//! in its own process group, the hello, matching replies to requests, and killing it whole.
//!
//! Anything an adapter does out of turn marks the connection broken with what was seen: a line
//! that is not the protocol's, a line over [`MAX_LINE`], a reply to an id never sent, a second
//! final reply, or the process ending. Every request waiting then fails with that explanation.

use super::Broken;
use crate::vocab::op::Op;
use crate::vocab::wire::{parse_line, Final, Hello, Message, Request, WireOp, MAX_LINE};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot, watch};

/// How much of the adapter's stderr is kept for reports.
const STDERR_TAIL: usize = 4096;
/// How many recent requests an ERROR quotes.
const RECENT: usize = 6;

/// Why an adapter could not be started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The command cannot run at all (not found, not executable): the run stops.
    Command(String),
    /// The adapter speaks a protocol version the harness does not: the run stops.
    Version(String),
    /// It started but exited, printed something else, or said nothing in time.
    Failed(String),
}

impl StartError {
    pub fn message(&self) -> &str {
        match self {
            StartError::Command(m) | StartError::Version(m) | StartError::Failed(m) => m,
        }
    }
}

/// A request just sent.
pub struct Sent {
    pub id: u64,
    /// The request line's length: a long one takes the adapter a while just to read.
    pub len: usize,
    pub started: oneshot::Receiver<()>,
    pub reply: oneshot::Receiver<Result<Final, Broken>>,
}

/// A request waiting for its final reply.
struct Waiter {
    started: Option<oneshot::Sender<()>>,
    reply: Option<oneshot::Sender<Result<Final, Broken>>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    waiting: BTreeMap<u64, Waiter>,
    /// Ids cancelled or abandoned: their final replies are expected and dropped.
    settling: BTreeSet<u64>,
    broken: Option<String>,
    recent: VecDeque<String>,
    /// Operations whose `started` never came and the grace period stood in for it.
    unstarted: usize,
}

/// A running adapter.
pub struct Conn {
    pub hello: Hello,
    state: Arc<Mutex<State>>,
    lines: mpsc::UnboundedSender<String>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    /// Changes whenever `settling` empties or the connection breaks.
    settled: watch::Receiver<()>,
    child: Mutex<Option<Child>>,
    pgid: Option<i32>,
}

impl Conn {
    /// Starts `command` (run by `sh -c`, in its own process group) and waits for its hello.
    pub async fn start(command: &str, dir: Option<&std::path::Path>, hello_deadline: Duration) -> Result<Conn, StartError> {
        let mut command_line = Command::new("sh");
        if let Some(dir) = dir {
            command_line.current_dir(dir);
        }
        let mut child = command_line
            .arg("-c")
            .arg(format!("exec {command}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| StartError::Command(format!("cannot run `sh -c {command:?}`: {e}")))?;
        let pgid = child.id().map(|p| p as i32);
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        tokio::spawn(keep_tail(child.stderr.take().expect("piped"), stderr.clone()));
        let mut stdout = LineReader::new(child.stdout.take().expect("piped"));
        let first = tokio::time::timeout(hello_deadline, stdout.next()).await;
        let tail = || tail_text(&stderr);
        let hello = match first {
            Err(_) => {
                kill_group(pgid, &mut child).await;
                return Err(StartError::Failed(format!(
                    "said no hello within {}s (an adapter's first line is its hello: docs/driver-protocol.md){}",
                    hello_deadline.as_secs(),
                    tail()
                )));
            }
            Ok(Ok(Some(line))) => match parse_line(&line) {
                Ok(Message::Hello(h)) => h,
                Ok(_) => return Err(StartError::Failed(format!("began with {} instead of a hello (docs/driver-protocol.md){}", quote(&line), tail()))),
                Err(e) => return Err(StartError::Failed(format!("began with {}: {e}{}", quote(&line), tail()))),
            },
            Ok(Ok(None)) | Ok(Err(_)) => {
                let status = child.wait().await.ok();
                let code = status.and_then(|s| s.code());
                let what = format!("exited before its hello ({}){}", status.map_or("?".into(), |s| s.to_string()), tail());
                return Err(match code {
                    Some(126) | Some(127) => StartError::Command(format!(
                        "the adapter command `{command}` cannot be run ({}): check the path, or install it (implementations.yaml says how)",
                        last_line(&stderr)
                    )),
                    _ => StartError::Failed(what),
                });
            }
        };
        if !(1..=2).contains(&hello.protocol) {
            kill_group(pgid, &mut child).await;
            return Err(StartError::Version(format!(
                "the adapter speaks driver protocol version {}, and streamcheck speaks versions 1 and 2: update the adapter to docs/driver-protocol.md",
                hello.protocol
            )));
        }
        let (lines, to_stdin) = mpsc::unbounded_channel();
        let (settled_tx, settled) = watch::channel(());
        let state = Arc::new(Mutex::new(State { next_id: 1, ..State::default() }));
        tokio::spawn(write_lines(child.stdin.take().expect("piped"), to_stdin, state.clone(), settled_tx.clone()));
        tokio::spawn(read_replies(stdout, state.clone(), settled_tx));
        Ok(Conn { hello, state, lines, stderr, settled, child: Mutex::new(Some(child)), pgid })
    }

    /// Sends `op`; the receivers give `started` and the final reply.
    pub fn send(&self, op: &Op) -> Result<Sent, Broken> {
        let (started_tx, started) = oneshot::channel();
        let (reply_tx, reply) = oneshot::channel();
        let (id, len) = self.send_raw(WireOp::from(op), Waiter { started: Some(started_tx), reply: Some(reply_tx) })?;
        Ok(Sent { id, len, started, reply })
    }

    fn send_raw(&self, op: WireOp, waiter: Waiter) -> Result<(u64, usize), Broken> {
        let mut s = self.state.lock().expect("state lock");
        if let Some(why) = &s.broken {
            return Err(Broken(why.clone()));
        }
        let id = s.next_id;
        s.next_id += 1;
        let line = serde_json::to_string(&Request { id, op }).expect("requests serialize");
        s.recent.push_back(cut(&line, 160));
        while s.recent.len() > RECENT {
            s.recent.pop_front();
        }
        s.waiting.insert(id, waiter);
        drop(s);
        let len = line.len();
        let _ = self.lines.send(line);
        Ok((id, len))
    }

    /// Fires `started` for `id` if it has not come, and counts it: the report's timing is then
    /// less precise (the adapter sends no `started`, or sends it late).
    pub fn stand_in_for_started(&self, id: u64) {
        let mut s = self.state.lock().expect("state lock");
        if let Some(started) = s.waiting.get_mut(&id).and_then(|w| w.started.take()) {
            let _ = started.send(());
            s.unstarted += 1;
        }
    }

    /// How many operations went on without their `started`.
    pub fn unstarted(&self) -> usize {
        self.state.lock().expect("state lock").unstarted
    }

    /// Cancels request `target` (its caller has gone): a `cancel` request, and both final
    /// replies expected before [`Conn::settle`] returns.
    pub fn cancel(&self, target: u64) {
        let mut s = self.state.lock().expect("state lock");
        if !s.waiting.contains_key(&target) || s.broken.is_some() {
            return;
        }
        s.settling.insert(target);
        drop(s);
        if let Ok((id, _)) = self.send_raw(WireOp::Cancel { target }, Waiter { started: None, reply: None }) {
            self.state.lock().expect("state lock").settling.insert(id);
        }
    }

    /// Waits until every cancel has been answered, or `deadline` passes (then broken).
    pub async fn settle(&self, deadline: Duration) -> Result<(), Broken> {
        let mut settled = self.settled.clone();
        let done = tokio::time::timeout(deadline, async {
            loop {
                {
                    let s = self.state.lock().expect("state lock");
                    if let Some(why) = &s.broken {
                        return Err(Broken(why.clone()));
                    }
                    if s.settling.is_empty() {
                        return Ok(());
                    }
                }
                if settled.changed().await.is_err() {
                    return Err(Broken("the adapter's connection ended".into()));
                }
            }
        })
        .await;
        done.unwrap_or_else(|_| Err(self.break_with(format!("did not answer a cancel within {}s", deadline.as_secs_f64()))))
    }

    /// Marks the connection broken (the harness gave up on it) and returns the explanation.
    pub fn break_with(&self, why: String) -> Broken {
        fail_all(&self.state, why)
    }

    pub fn is_broken(&self) -> bool {
        self.state.lock().expect("state lock").broken.is_some()
    }

    /// The last requests and the tail of stderr, for an ERROR's explanation.
    pub fn evidence(&self) -> String {
        let recent: Vec<String> = self.state.lock().expect("state lock").recent.iter().cloned().collect();
        let mut out = String::new();
        if !recent.is_empty() {
            out.push_str(&format!("\nlast requests:\n  {}", recent.join("\n  ")));
        }
        out.push_str(&tail_text(&self.stderr));
        out
    }

    /// Forgets the recent requests (a new scenario begins).
    pub fn forget_recent(&self) {
        self.state.lock().expect("state lock").recent.clear();
    }

    /// Kills the adapter's whole process group: SIGTERM, then SIGKILL after a short grace.
    pub async fn kill(&self) {
        fail_all(&self.state, "the harness stopped the adapter".into());
        let child = self.child.lock().expect("child lock").take();
        if let Some(mut child) = child {
            kill_group(self.pgid, &mut child).await;
        }
    }
}

/// Fails every waiting request with `why` (once: the first explanation stays).
fn fail_all(state: &Mutex<State>, why: String) -> Broken {
    let mut s = state.lock().expect("state lock");
    let why = s.broken.get_or_insert(why).clone();
    for (_, w) in std::mem::take(&mut s.waiting) {
        if let Some(reply) = w.reply {
            let _ = reply.send(Err(Broken(why.clone())));
        }
    }
    s.settling.clear();
    Broken(why)
}

async fn kill_group(pgid: Option<i32>, child: &mut Child) {
    let signal = |sig| {
        if let Some(pgid) = pgid {
            // SAFETY: killpg only sends a signal; the group is the adapter's own (process_group(0)).
            unsafe { libc::killpg(pgid, sig) };
        }
    };
    signal(libc::SIGTERM);
    if tokio::time::timeout(Duration::from_millis(300), child.wait()).await.is_err() {
        let _ = child.start_kill();
    }
    // Whatever is left of the group (children that ignore SIGTERM) goes too.
    signal(libc::SIGKILL);
    let _ = child.wait().await;
}

async fn write_lines(mut stdin: tokio::process::ChildStdin, mut lines: mpsc::UnboundedReceiver<String>, state: Arc<Mutex<State>>, settled: watch::Sender<()>) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if let Err(e) = async { stdin.write_all(line.as_bytes()).await?; stdin.flush().await }.await {
            fail_all(&state, format!("the adapter stopped reading its stdin ({e})"));
            let _ = settled.send(());
            return;
        }
    }
}

async fn read_replies(mut stdout: LineReader<ChildStdout>, state: Arc<Mutex<State>>, settled: watch::Sender<()>) {
    loop {
        let why = match stdout.next().await {
            Ok(Some(line)) => match parse_line(&line) {
                Ok(message) => match dispatch(&state, message) {
                    Ok(()) => {
                        let _ = settled.send(());
                        continue;
                    }
                    Err(why) => why,
                },
                Err(e) => format!("printed {}: {e}", quote(&line)),
            },
            Ok(None) => "exited (its stdout closed)".to_string(),
            Err(e) => e,
        };
        fail_all(&state, format!("the adapter {why}: the driver protocol (docs/driver-protocol.md) does not allow it, so a fresh adapter process serves the next scenario"));
        let _ = settled.send(());
        return;
    }
}

/// Hands one message to its request. `Err` names the protocol violation.
fn dispatch(state: &Mutex<State>, message: Message) -> Result<(), String> {
    let mut s = state.lock().expect("state lock");
    match message {
        Message::Hello(_) => Err("sent a second hello".into()),
        Message::Started(id) => {
            let next_id = s.next_id;
            match s.waiting.get_mut(&id) {
                Some(w) => {
                    if let Some(started) = w.started.take() {
                        let _ = started.send(());
                    }
                    Ok(())
                }
                None if id > 0 && id < next_id => Ok(()), // late, for a request already answered
                None => Err(format!("sent `started` for id {id}, which the harness never sent")),
            }
        }
        Message::Final(id, reply) => {
            let Some(w) = s.waiting.remove(&id) else {
                return Err(if id < s.next_id && id > 0 {
                    format!("sent a second final reply for id {id}")
                } else {
                    format!("replied to id {id}, which the harness never sent")
                });
            };
            s.settling.remove(&id);
            if let Some(started) = w.started {
                let _ = started.send(());
            }
            if let Some(r) = w.reply {
                let _ = r.send(Ok(reply));
            }
            Ok(())
        }
    }
}

/// Reads lines of at most [`MAX_LINE`] bytes; a longer line is an error, not an allocation.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    scanned: usize,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader { inner, buf: Vec::new(), scanned: 0, eof: false }
    }

    /// The next line without its newline; `None` at EOF.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, String> {
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + pos;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                self.scanned = 0;
                return Ok(Some(line));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(format!("printed a line longer than {} MiB (the protocol's limit)", MAX_LINE >> 20));
            }
            if self.eof {
                return Ok(None);
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.inner.read(&mut chunk).await {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("stdout could not be read ({e})")),
            }
        }
    }
}

async fn keep_tail(mut stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<u8>>>) {
    let mut chunk = [0u8; 16 * 1024];
    while let Ok(n) = stderr.read(&mut chunk).await {
        if n == 0 {
            return;
        }
        let mut t = tail.lock().expect("tail lock");
        t.extend(&chunk[..n]);
        let extra = t.len().saturating_sub(STDERR_TAIL);
        t.drain(..extra);
    }
}

fn tail_text(tail: &Mutex<VecDeque<u8>>) -> String {
    let bytes: Vec<u8> = tail.lock().expect("tail lock").iter().copied().collect();
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let last = &lines[lines.len().saturating_sub(8)..];
    if last.is_empty() {
        String::new()
    } else {
        format!("\nstderr (last lines):\n  {}", last.iter().map(|l| cut(l, 200)).collect::<Vec<_>>().join("\n  "))
    }
}

/// The last line the adapter wrote on stderr, for one-line messages.
fn last_line(tail: &Mutex<VecDeque<u8>>) -> String {
    let bytes: Vec<u8> = tail.lock().expect("tail lock").iter().copied().collect();
    String::from_utf8_lossy(&bytes).lines().rev().find(|l| !l.trim().is_empty()).map_or("no message".into(), |l| cut(l.trim(), 200))
}

fn quote(line: &[u8]) -> String {
    format!("{:?}", cut(&String::from_utf8_lossy(line), 120))
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let end = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    format!("{}... ({} bytes)", &text[..end], text.len())
}
