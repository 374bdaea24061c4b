#!/usr/bin/env python3
"""CPython oracle for streamcheck's differential test (impl/tests/differential.rs).

ONE long-lived process. It reads cases as JSON lines on stdin and answers one JSON line per case
on stdout. See docs/differential.md for the protocol; in short:

    case   = {"limit": int | null, "ops": [op, ...], "trace": bool?}
    op     = {"op": "feed", "data": b64} | {"op": "feed_eof"}
           | {"op": "set_exception", "type": "ConnectionResetError" | "BrokenPipeError" | ..., "message": str}
           | {"op": "read", "n": int} | {"op": "readline"} | {"op": "readexactly", "n": int}
           | {"op": "readuntil", "sep": b64} | {"op": "readuntil", "seps": [b64, ...]}   (tuple form)
           | {"op": "at_eof"} | {"op": "exception"}
           | {"op": "cancel"}   (cancels the pending read with the lowest op index)
             (non-read ops may carry "settle": false, see below)
    answer = {"version": "3.13.0", "setup_error": error | null,
              "events": [[op_index, outcome], ...],
              "buffer": b64, "eof": bool, "at_eof": bool, "limit": int | null}
    outcome = {"ok": b64} | {"ok": bool} | {"ok": null} | {"error": error} | {"pending": true}
              (a cancelled read completes with {"error": {"type": "CancelledError", "message": ""}})
    error   = {"type": class name, "message": str(exc),
               "partial": b64, "expected": int | null,      (IncompleteReadError only)
               "consumed": int}                            (LimitOverrunError only)

Execution model (the Rust side reproduces it exactly):
  * ops run one after the other; after EACH op the event loop is "settled": it is run for a fixed
    number of iterations (SETTLE_ROUNDS x sleep(0)), which is far more than a StreamReader needs to
    deliver a wake-up and let the woken task run to its next suspension point. Nothing else is
    scheduled on the loop, so the result is deterministic.
  * a non-read op with "settle": false is NOT followed by a settle: the next op runs in the same
    loop iteration, as when a protocol's data_received and connection_lost(exc) run back to back.
    A task it wakes runs at the next settle, before a read task created by the next op (FIFO).
  * every op emits exactly one event [i, outcome] at the time it runs. A read op that is still
    blocked after the settle emits {"pending": true}; when a later op completes it, a second event
    [i, outcome] is emitted right after that later op's own event (several completions, which the
    one-waiter rule makes impossible in practice, would be ordered by op index).
  * non-read ops emit {"ok": null} (feed, feed_eof, set_exception) or an error (feed after EOF is
    AssertionError), at_eof emits {"ok": bool}, exception emits {"ok": null} or {"ok": error}.
  * after the last op the final state is recorded (buffer, eof flag, at_eof) and only THEN the
    still-pending tasks are cancelled (cancelling read(-1) would lose bytes in CPython).
  * with "trace": true, every read op's event carries a third element: the state the op saw when
    its task first ran,
    {"buflen": int, "eof": bool, "exc": bool, "waiting": bool}.

Errors in the oracle itself are reported as {"oracle_error": traceback}; the process keeps going.
"""

import asyncio
import base64
import json
import sys
import traceback
import warnings

SETTLE_ROUNDS = 8

EXCEPTIONS = {
    "ConnectionResetError": ConnectionResetError,
    "BrokenPipeError": BrokenPipeError,
    "RuntimeError": RuntimeError,
    "ValueError": ValueError,
    "OSError": OSError,
    "TimeoutError": TimeoutError,
}


def b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(s):
    return base64.b64decode(s)


def describe_error(exc):
    err = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, asyncio.IncompleteReadError):
        err["partial"] = b64(exc.partial)
        err["expected"] = exc.expected
    elif isinstance(exc, asyncio.LimitOverrunError):
        err["consumed"] = exc.consumed
    return err


def task_outcome(task):
    if task.cancelled():
        return {"error": {"type": "CancelledError", "message": ""}}
    exc = task.exception()
    if exc is not None:
        return {"error": describe_error(exc)}
    return {"ok": b64(task.result())}


class Oracle:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

    async def _settle(self):
        for _ in range(SETTLE_ROUNDS):
            await asyncio.sleep(0)

    def settle(self):
        self.loop.run_until_complete(self._settle())

    async def _make_reader(self, limit):
        if limit is None:
            return asyncio.StreamReader()
        return asyncio.StreamReader(limit=limit)

    @staticmethod
    async def _traced(reader, coro, before):
        # The state the read sees when its task first runs (tasks woken earlier run before it).
        before.update(
            buflen=len(reader._buffer),
            eof=reader._eof,
            exc=reader._exception is not None,
            waiting=reader._waiter is not None,
        )
        return await coro

    def run_case(self, case):
        limit = case.get("limit")
        trace = bool(case.get("trace"))
        answer = {
            "version": "%d.%d.%d" % sys.version_info[:3],
            "setup_error": None,
            "events": [],
            "buffer": "",
            "eof": False,
            "at_eof": False,
            "limit": None,
        }
        try:
            reader = self.loop.run_until_complete(self._make_reader(limit))
        except Exception as exc:  # ValueError('Limit cannot be <= 0')
            answer["setup_error"] = describe_error(exc)
            return answer
        answer["limit"] = reader._limit

        events = answer["events"]
        pending = {}  # op index -> task

        for i, op in enumerate(case["ops"]):
            kind = op["op"]
            coro = None
            if kind == "feed":
                try:
                    reader.feed_data(unb64(op["data"]))
                    events.append([i, {"ok": None}])
                except Exception as exc:
                    events.append([i, {"error": describe_error(exc)}])
            elif kind == "feed_eof":
                reader.feed_eof()
                events.append([i, {"ok": None}])
            elif kind == "set_exception":
                reader.set_exception(EXCEPTIONS[op["type"]](op["message"]))
                events.append([i, {"ok": None}])
            elif kind == "at_eof":
                events.append([i, {"ok": reader.at_eof()}])
            elif kind == "cancel":
                # Cancels the pending read with the lowest op index (a cancelled read(-1) loses
                # the bytes it pulled, in CPython and in the reference alike); no-op if none.
                for j in sorted(pending):
                    pending[j].cancel()
                    break
                events.append([i, {"ok": None}])
            elif kind == "exception":
                exc = reader.exception()
                events.append([i, {"ok": None if exc is None else describe_error(exc)}])
            elif kind == "read":
                coro = reader.read(op["n"])
            elif kind == "readline":
                coro = reader.readline()
            elif kind == "readexactly":
                coro = reader.readexactly(op["n"])
            elif kind == "readuntil":
                if "seps" in op:
                    coro = reader.readuntil(tuple(unb64(s) for s in op["seps"]))
                else:
                    coro = reader.readuntil(unb64(op["sep"]))
            else:
                raise ValueError("unknown op %r" % (kind,))

            if coro is not None:
                before = {}
                if trace:
                    coro = self._traced(reader, coro, before)
                task = self.loop.create_task(coro)
                self.settle()
                if task.done():
                    event = [i, task_outcome(task)]
                else:
                    pending[i] = task
                    event = [i, {"pending": True}]
                if trace:
                    event.append(before)
                events.append(event)
            elif op.get("settle", True):
                self.settle()

            for j in sorted(pending):
                if j != i and pending[j].done():
                    events.append([j, task_outcome(pending.pop(j))])

        answer["buffer"] = b64(reader._buffer)
        answer["eof"] = reader._eof
        answer["at_eof"] = reader.at_eof()

        for task in pending.values():
            task.cancel()
        if pending:
            self.settle()
            for task in pending.values():
                if not task.cancelled() and task.done():
                    task.exception()  # retrieved: no "never retrieved" noise
        return answer


def main():
    warnings.simplefilter("ignore")
    oracle = Oracle()
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        if line == "version":
            out.write(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3]}) + "\n")
            out.flush()
            continue
        try:
            answer = oracle.run_case(json.loads(line))
        except Exception:
            answer = {"oracle_error": traceback.format_exc()}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
