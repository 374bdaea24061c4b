#!/usr/bin/env python3
"""Broken: at_eof is True as soon as EOF was received, even while bytes are still buffered."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402


class AtEofIgnoresBuffer(StreamsAdapter):
    async def op_at_eof(self, req):
        reader, _ = await self.streams()
        return reader._eof  # CPython's private flag; at_eof() also requires an empty buffer


main(AtEofIgnoresBuffer)
