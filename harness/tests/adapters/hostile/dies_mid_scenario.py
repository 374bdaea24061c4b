#!/usr/bin/env python3
"""Hostile: exits abruptly (os._exit(1), no reply) on the first read op."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402

READ_OPS = ("read", "readline", "readexactly", "readuntil")


class DiesMidScenario(StreamsAdapter):
    async def run(self, req):
        if req.get("op") in READ_OPS:
            os._exit(1)
        await super().run(req)


main(DiesMidScenario)
