#!/usr/bin/env python3
"""Broken: readuntil's LimitOverrun reports consumed=len(buffer) instead of CPython's value.

Visible with a separator found past the limit, or a multi-byte separator not found
(CPython says len(buffer) - len(separator) + 1 there; with b"\\n" both agree).
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402


class ReaduntilConsumedIsBufferLen(StreamsAdapter):
    async def op_readuntil(self, req):
        reader, _ = await self.streams()
        try:
            return await super().op_readuntil(req)
        except asyncio.LimitOverrunError as e:
            raise asyncio.LimitOverrunError(str(e), len(reader._buffer))


main(ReaduntilConsumedIsBufferLen)
