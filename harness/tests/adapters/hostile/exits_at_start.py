#!/usr/bin/env python3
"""Hostile: exits with status 3 before saying hello."""
import sys

print("exits_at_start: refusing to start", file=sys.stderr, flush=True)
sys.exit(3)
