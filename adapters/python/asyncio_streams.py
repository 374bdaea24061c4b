#!/usr/bin/env python3
"""Faithful streamcheck adapter (driver protocol 2) for asyncio streams.

Usage: python3 asyncio_streams.py [--loop asyncio|uvloop|rloop]

Requests arrive as JSON Lines on stdin, replies leave on stdout, stderr is a log.
Each op is a method ``op_<name>(self, req)`` of StreamsAdapter that calls the real
asyncio API and returns its JSON value; exceptions are turned into error replies
by ``error_info``. Subclass StreamsAdapter and pass it to ``main`` to change one op.
Stdlib only; runs unchanged on CPython 3.8 to 3.13.
"""
import argparse
import asyncio
import base64
import json
import os
import platform
import sys
import threading

PROTOCOL = 2
# Ops that an event loop is known to lack, per --loop (announced in the hello).
UNSUPPORTED = {"asyncio": [], "uvloop": [], "rloop": []}


def to_b64(data):
    return {"b64": base64.b64encode(bytes(data)).decode("ascii")}


def from_b64(obj):
    return base64.b64decode(obj["b64"], validate=True)


def error_info(e):
    """The wire form of an exception raised by the library (order matters)."""
    if isinstance(e, asyncio.IncompleteReadError):  # an EOFError
        return {"type": "IncompleteRead", "partial": to_b64(e.partial),
                "expected": e.expected, "message": str(e)}
    if isinstance(e, asyncio.LimitOverrunError):
        return {"type": "LimitOverrun", "consumed": e.consumed, "message": str(e)}
    if isinstance(e, ValueError):
        return {"type": "ValueError", "message": str(e)}
    if isinstance(e, ConnectionResetError):
        return {"type": "ConnectionReset", "message": str(e)}
    if isinstance(e, BrokenPipeError):
        return {"type": "BrokenPipe", "message": str(e)}
    return {"type": "Other", "class": type(e).__name__, "message": str(e)}


def make_loop(loop_name):
    """(event loop, implementation name, implementation version) for --loop."""
    if loop_name == "uvloop":
        import uvloop
        return uvloop.new_event_loop(), "uvloop", uvloop.__version__
    if loop_name == "rloop":
        import importlib.metadata
        import rloop
        return rloop.new_event_loop(), "rloop", importlib.metadata.version("rloop")
    return asyncio.new_event_loop(), "cpython-asyncio", platform.python_version()


def log(*args):
    print("asyncio_streams:", *args, file=sys.stderr, flush=True)


class StreamsAdapter:
    def __init__(self, loop_name="asyncio"):
        self.loop_name = loop_name
        self.loop, self.name, self.version = make_loop(loop_name)
        self.tasks = {}  # request id -> task, until its final reply is written
        self.ops = {}  # request id -> op name, for the same requests
        self.cancelling = set()  # ids the harness cancelled (others' CancelledError is an outcome)
        self.server = None
        self.writer = None
        self.session = self.loop.create_future()  # resolves to (reader, writer)
        self.stdin_eof = self.loop.create_future()

    # ---- plumbing -------------------------------------------------------
    def hello(self):
        hello = {"protocol": PROTOCOL, "name": self.name, "version": self.version,
                 "capabilities": ["stream"], "unsupported": list(UNSUPPORTED.get(self.loop_name, []))}
        if self.loop_name == "asyncio":
            # `cpython` says: this is CPython's asyncio, streams and transports, at this version, so
            # its own recorded version differences apply. uvloop and rloop bring their own transports.
            hello["cpython"] = platform.python_version()
        return {"hello": hello}

    def send(self, msg):
        try:
            sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        except (OSError, ValueError) as e:  # the harness went away: nobody to answer
            log("cannot write to stdout (%s), exiting" % e)
            os._exit(1)

    def send_final(self, rid, msg):
        if self.tasks.pop(rid, None) is not None:
            self.ops.pop(rid, None)
            self.cancelling.discard(rid)
            self.send(msg)

    def read_stdin(self):  # runs in a daemon thread
        try:
            for line in sys.stdin.buffer:
                self.loop.call_soon_threadsafe(self.on_line, line)
        finally:
            try:
                self.loop.call_soon_threadsafe(self.on_stdin_eof)
            except RuntimeError:  # loop already closed
                pass

    def on_stdin_eof(self):
        if not self.stdin_eof.done():
            self.stdin_eof.set_result(None)

    def on_line(self, line):
        if not line.strip():
            return
        try:
            req = json.loads(line)
            rid = req["id"]
        except (ValueError, KeyError, TypeError) as e:
            log("ignoring malformed request %r: %s" % (line[:200], e))
            return
        # Never run the op inline: as its own task it runs after this loop
        # iteration, so data that already arrived has been fed to the reader.
        task = self.loop.create_task(self.run(req))
        self.tasks[rid], self.ops[rid] = task, req.get("op")
        task.add_done_callback(lambda t: self.settle(rid, t))
        self.loop.call_soon(self.check_started, rid, task)

    def check_started(self, rid, task):
        if not task.done() and rid in self.tasks:
            self.send({"id": rid, "started": True})

    def settle(self, rid, task):
        """Final reply for a task that ended without writing one (cancelled early)."""
        if task.cancelled():
            self.send_final(rid, {"id": rid, "cancelled": True} if rid in self.cancelling else
                            {"id": rid, "error": {"type": "Other", "class": "CancelledError", "message": ""}})
        elif task.exception() is not None:
            self.send_final(rid, {"id": rid, "error": error_info(task.exception())})

    async def run(self, req):
        rid, op = req["id"], req.get("op")
        method = getattr(self, "op_" + op, None) if isinstance(op, str) else None
        if method is None or op in UNSUPPORTED.get(self.loop_name, []):
            self.send_final(rid, {"id": rid, "error": {"type": "Unsupported", "op": str(op)}})
            return
        try:
            value = await method(req)
        except asyncio.CancelledError:
            if rid not in self.cancelling:  # raised by the library, not by our cancel
                self.send_final(rid, {"id": rid, "error": {"type": "Other", "class": "CancelledError", "message": ""}})
                return
            self.send_final(rid, {"id": rid, "cancelled": True})
        except Exception as e:
            self.send_final(rid, {"id": rid, "error": error_info(e)})
        else:
            self.send_final(rid, {"id": rid, "ok": value})

    async def streams(self):
        """(reader, writer) of the session; waits for start_server's first client."""
        return await self.session

    def set_session(self, reader, writer):
        if self.session.done():
            self.session = self.loop.create_future()
        self.writer = writer
        self.session.set_result((reader, writer))

    async def close_all(self, timeout=None):
        me = asyncio.current_task()
        victims = [t for t in self.tasks.values() if t is not me]
        for rid, t in list(self.tasks.items()):
            if t is not me and self.ops.get(rid) != "cancel":  # cancels end by themselves
                self.cancelling.add(rid)
                t.cancel()
        if victims:  # each cancelled op writes its "cancelled" reply
            await asyncio.wait(victims, timeout=timeout)
        if self.writer is not None:
            try:
                self.writer.transport.abort()
            except Exception:  # 3.8-3.11: abort() after a close that flushed raises AttributeError
                pass
            self.writer = None
        if self.server is not None:
            self.server.close()
            self.server = None
        if not self.session.done():
            self.session.cancel()
        self.session = self.loop.create_future()
        await asyncio.sleep(0)  # let connection_lost run

    async def serve(self):
        self.send(self.hello())
        threading.Thread(target=self.read_stdin, name="stdin", daemon=True).start()
        await self.stdin_eof
        await self.close_all(timeout=1.0)

    # ---- control ops ----------------------------------------------------
    async def op_cancel(self, req):
        task = self.tasks.get(req["target"])
        if task is not None and task is not asyncio.current_task():
            self.cancelling.add(req["target"])
            task.cancel()
            await asyncio.wait([task])  # its final reply is written before ours
            self.settle(req["target"], task)
        return None

    async def op_reset(self, req):
        await self.close_all()
        return None

    # ---- connection ops -------------------------------------------------
    async def op_open_connection(self, req):
        kw = {"limit": req["limit"]} if req.get("limit") is not None else {}
        reader, writer = await asyncio.open_connection(req["host"], req["port"], **kw)
        self.set_session(reader, writer)
        return None

    async def op_start_server(self, req):
        session = self.session

        def accepted(reader, writer):
            if session is self.session and not session.done():
                self.set_session(reader, writer)
            else:  # only this server's first connection, before any reset, is the session
                writer.transport.abort()
        kw = {"limit": req["limit"]} if req.get("limit") is not None else {}
        self.server = await asyncio.start_server(accepted, req["host"], 0, **kw)
        return {"port": self.server.sockets[0].getsockname()[1]}

    # ---- reader ops -----------------------------------------------------
    async def op_read(self, req):
        reader, _ = await self.streams()
        return to_b64(await reader.read(req.get("n", -1)))

    async def op_readline(self, req):
        reader, _ = await self.streams()
        return to_b64(await reader.readline())

    async def op_readexactly(self, req):
        reader, _ = await self.streams()
        return to_b64(await reader.readexactly(req["n"]))

    async def op_readuntil(self, req):
        reader, _ = await self.streams()
        if "separators" in req:
            return to_b64(await reader.readuntil(tuple(from_b64(s) for s in req["separators"])))
        if "separator" in req:
            return to_b64(await reader.readuntil(from_b64(req["separator"])))
        return to_b64(await reader.readuntil())

    async def op_at_eof(self, req):
        reader, _ = await self.streams()
        return reader.at_eof()

    # ---- writer ops -----------------------------------------------------
    async def op_write(self, req):
        _, writer = await self.streams()
        writer.write(from_b64(req["data"]))

    async def op_writelines(self, req):
        _, writer = await self.streams()
        writer.writelines([from_b64(d) for d in req["data"]])

    async def op_drain(self, req):
        _, writer = await self.streams()
        await writer.drain()

    async def op_write_eof(self, req):
        _, writer = await self.streams()
        writer.write_eof()

    async def op_can_write_eof(self, req):
        _, writer = await self.streams()
        return writer.can_write_eof()

    async def op_close(self, req):
        _, writer = await self.streams()
        writer.close()

    async def op_wait_closed(self, req):
        _, writer = await self.streams()
        await writer.wait_closed()

    async def op_is_closing(self, req):
        _, writer = await self.streams()
        return writer.is_closing()

    async def op_get_write_buffer_size(self, req):
        _, writer = await self.streams()
        return writer.transport.get_write_buffer_size()

    async def op_set_write_buffer_limits(self, req):
        _, writer = await self.streams()
        kw = {k: req[k] for k in ("high", "low") if req.get(k) is not None}
        writer.transport.set_write_buffer_limits(**kw)


def main(adapter_class=StreamsAdapter, argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["asyncio", "uvloop", "rloop"], default="asyncio")
    args = parser.parse_args(argv)
    adapter = adapter_class(args.loop)
    asyncio.set_event_loop(adapter.loop)
    try:
        adapter.loop.run_until_complete(adapter.serve())
    finally:
        adapter.loop.close()


if __name__ == "__main__":
    main()
