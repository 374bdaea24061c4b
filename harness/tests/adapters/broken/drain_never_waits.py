#!/usr/bin/env python3
"""Broken: drain returns at once while writing is paused instead of waiting for the buffer to drain."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402


class DrainNeverWaits(StreamsAdapter):
    async def op_drain(self, req):
        _, writer = await self.streams()
        if writer._protocol._paused:  # CPython's FlowControlMixin flag
            return None
        await writer.drain()


main(DrainNeverWaits)
