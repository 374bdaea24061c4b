#!/usr/bin/env python3
"""Hostile: floods stderr with binary junk (~25 MB/s) from a thread; otherwise faithful."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import main  # noqa: E402

# Non-UTF-8 bytes, a few newlines, and one line far longer than any sane log line.
JUNK = bytes(range(256)) * 256 + b"\n" + b"\xff" * (192 * 1024)


def flood():
    while True:
        os.write(2, JUNK)
        time.sleep(0.01)


threading.Thread(target=flood, daemon=True).start()
main()
