#!/usr/bin/env python3
"""Hostile: ignores SIGTERM and leaves a child `sleep 1000` holding its stdio; otherwise faithful.

The child inherits SIG_IGN for SIGTERM and the stdout pipe, so only SIGKILL of the
whole process group gets rid of both and closes the pipe.
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "adapters", "python"))
from asyncio_streams import main  # noqa: E402

signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen(["sleep", "1000"])  # deliberately never waited for
main()
