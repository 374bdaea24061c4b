//! Checks across a scenario's steps, after each step has parsed on its own: names started and
//! awaited, operations that fit the subject. They never panic and report every mistake found.

use super::{Action, PeerAction, Scenario, SubjectKind};
use std::collections::BTreeMap;

/// Checks that span steps: names started and awaited, ops that fit the subject. Each error
/// names its step index (or None for the whole file).
pub fn check(s: &Scenario) -> Vec<(Option<usize>, String)> {
    let mut errors = Vec::new();
    if s.name.trim().is_empty() {
        errors.push((None, "`name` is empty: give the scenario a unique name".into()));
    }
    if s.spec.trim().is_empty() {
        errors.push((None, "`spec` is empty: cite the documentation section or RFC clause this checks".into()));
    }
    if s.steps.is_empty() {
        errors.push((None, "`steps` is empty: a scenario needs at least one step".into()));
    }
    let mut started: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for (i, step) in s.steps.iter().enumerate() {
        if let Some(name) = &step.name {
            if started.contains_key(name) {
                errors.push((Some(i), format!("`as: {name}` is already used by an earlier step: pick another name")));
            }
            started.insert(name.clone(), (i, false));
        }
        match &step.action {
            Action::Await(name) => match started.get_mut(name) {
                None => errors.push((Some(i), format!("`await: {name}` names no operation started earlier with `as: {name}`"))),
                Some((_, awaited @ false)) => *awaited = true,
                Some((_, true)) => errors.push((Some(i), format!("`await: {name}` twice: an operation's outcome is taken once"))),
            },
            Action::Subject(op) => {
                let ws_op = op.name().starts_with("ws_");
                if s.subject.is_stream() && ws_op {
                    errors.push((Some(i), format!("`{}` is a WebSocket operation but the subject is a stream: use subject ws-client or ws-server", op.name())));
                }
                if !s.subject.is_stream() && !ws_op {
                    errors.push((Some(i), format!("`{}` is a stream operation but the subject is WebSocket: use ws_send, ws_recv, ws_ping, ws_close or ws_echo", op.name())));
                }
            }
            Action::Peer(PeerAction::Recv(_)) if step.expect.is_none() => {
                errors.push((Some(i), "a peer `recv` checks what arrives: add `expect: {ok: BYTES}`".into()));
            }
            Action::Peer(_) => {}
        }
    }
    for (name, (i, awaited)) in started {
        if !awaited {
            errors.push((Some(i), format!("`as: {name}` is never awaited: add a later step `await: {name}` with its `expect`")));
        }
    }
    if matches!(s.subject, SubjectKind::WsClient | SubjectKind::WsServer) {
        errors.push((None, "WebSocket subjects are not runnable yet: the WebSocket scenario corpus is a separate issue".into()));
    }
    errors
}

