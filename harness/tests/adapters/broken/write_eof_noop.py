#!/usr/bin/env python3
"""Broken: write_eof does nothing (the peer never sees EOF)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402


class WriteEofNoop(StreamsAdapter):
    async def op_write_eof(self, req):
        await self.streams()
        return None


main(WriteEofNoop)
