#!/usr/bin/env python3
"""The faithful asyncio streams adapter, unchanged (accepts --loop like the original)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "adapters", "python"))
from asyncio_streams import main  # noqa: E402

main()
