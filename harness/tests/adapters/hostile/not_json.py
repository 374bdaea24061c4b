#!/usr/bin/env python3
"""Hostile: answers the first at_eof or read op with a line that is not JSON."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402

TRIGGERS = ("at_eof", "read", "readline", "readexactly", "readuntil")


class NotJson(StreamsAdapter):
    fired = False

    async def run(self, req):
        if req.get("op") in TRIGGERS and not self.fired:
            self.fired = True
            self.tasks.pop(req["id"], None)
            sys.stdout.write("id=%s ok, but this line is not JSON {\n" % req["id"])
            sys.stdout.flush()
            return
        await super().run(req)


main(NotJson)
