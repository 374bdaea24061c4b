#!/usr/bin/env python3
"""Broken: readexactly returns the partial data at EOF instead of raising IncompleteRead."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main, to_b64  # noqa: E402


class ReadexactlyPartialAtEof(StreamsAdapter):
    async def op_readexactly(self, req):
        reader, _ = await self.streams()
        try:
            return to_b64(await reader.readexactly(req["n"]))
        except asyncio.IncompleteReadError as e:
            return to_b64(e.partial)


main(ReadexactlyPartialAtEof)
