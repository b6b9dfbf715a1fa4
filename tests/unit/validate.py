"""Moved to tests.support.validate; this name stays for code written before the move. Import from
there (or from ``tests.support``) in new code."""

from tests.support.validate import *  # noqa: F403
