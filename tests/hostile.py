"""Moved to tests.support.hostile; this name stays for code written before the move. Import from
there (or from ``tests.support``) in new code."""

from tests.support.hostile import *  # noqa: F403
