#!/usr/bin/env python3
"""Hostile: the hello announces protocol 99; otherwise faithful."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402


class WrongProtocol(StreamsAdapter):
    def hello(self):
        msg = super().hello()
        msg["hello"]["protocol"] = 99
        return msg


main(WrongProtocol)
