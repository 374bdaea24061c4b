#!/usr/bin/env python3
"""Hostile: never answers readline (not even to cancel or reset); answers everything else."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402


class HangsOnReadline(StreamsAdapter):
    async def op_readline(self, req):
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass  # swallow cancel: a cancel or reset of this request never completes


main(HangsOnReadline)
