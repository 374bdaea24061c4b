"""A protocol version 1 adapter: faithful, but it never sends `started` (and says protocol 1)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "adapters", "python"))
from asyncio_streams import StreamsAdapter, main  # noqa: E402


class ProtocolOne(StreamsAdapter):
    def hello(self):
        msg = super().hello()
        msg["hello"]["protocol"] = 1
        return msg

    def check_started(self, rid, task):
        pass  # version 1 has no `started`


main(ProtocolOne)
