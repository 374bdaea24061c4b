#!/usr/bin/env python3
"""Broken: readline strips the trailing newline from the line it returns."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main, to_b64  # noqa: E402


class ReadlineStripsNewline(StreamsAdapter):
    async def op_readline(self, req):
        reader, _ = await self.streams()
        line = await reader.readline()
        return to_b64(line[:-1] if line.endswith(b"\n") else line)


main(ReadlineStripsNewline)
