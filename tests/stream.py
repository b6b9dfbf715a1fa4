"""Moved to tests.support.stream; this name stays for code written before the move. Import from
there (or from ``tests.support``) in new code."""

from tests.support.stream import *  # noqa: F403
