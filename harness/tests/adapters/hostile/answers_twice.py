#!/usr/bin/env python3
"""Hostile: sends two final replies for the first at_eof or read op."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402

TRIGGERS = ("at_eof", "read", "readline", "readexactly", "readuntil")


class AnswersTwice(StreamsAdapter):
    fired = False

    async def run(self, req):
        await super().run(req)  # the genuine final reply
        if req.get("op") in TRIGGERS and not self.fired:
            self.fired = True
            self.send({"id": req["id"], "ok": None})  # a second final reply


main(AnswersTwice)
