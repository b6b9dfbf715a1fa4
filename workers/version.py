"""The installed wirefeed version, for heartbeats and metrics."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("wirefeed")
except PackageNotFoundError:  # running from a checkout that was never installed
    VERSION = "0+unknown"
