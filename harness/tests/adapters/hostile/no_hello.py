#!/usr/bin/env python3
"""Hostile: never says hello; reads stdin (even past EOF it never exits)."""
import sys
import time

for _ in sys.stdin.buffer:
    pass
while True:
    time.sleep(3600)
