#!/usr/bin/env python3
"""Hostile: answers the first at_eof or read op with an id that was never sent."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402

TRIGGERS = ("at_eof", "read", "readline", "readexactly", "readuntil")


class UnknownId(StreamsAdapter):
    fired = False

    async def run(self, req):
        if req.get("op") in TRIGGERS and not self.fired:
            self.fired = True
            self.tasks.pop(req["id"], None)
            self.send({"id": req["id"] + 1000000, "ok": None})
            return
        await super().run(req)


main(UnknownId)
