#!/usr/bin/env python3
"""Hostile: answers the first read op with one 100 MiB line, written 1 MiB at a time."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402

READ_OPS = ("read", "readline", "readexactly", "readuntil")
PIECE = "A" * (1 << 20)  # 1 MiB of base64 ("AAAA" decodes to zero bytes)


class HugeLine(StreamsAdapter):
    fired = False

    async def run(self, req):
        if req.get("op") not in READ_OPS or self.fired:
            return await super().run(req)
        self.fired = True
        self.tasks.pop(req["id"], None)
        sys.stdout.write('{"id":%d,"ok":{"b64":"' % req["id"])
        for _ in range(100):
            sys.stdout.write(PIECE)
            sys.stdout.flush()
        sys.stdout.write('"}}\n')
        sys.stdout.flush()


main(HugeLine)
