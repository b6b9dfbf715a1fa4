"""``python -m feeds``: serve the HTTP app with uvicorn. Settings come from the environment."""

from __future__ import annotations

import os
import signal
import sys

import uvicorn

from config import logformat
from config.settings import Settings, SettingsError
from feeds.app import create_app


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
        app = create_app(settings)
    except (SettingsError, ValueError) as exc:
        print(f"wirefeed web: {exc}", file=sys.stderr)
        return 2
    logformat.configure(settings.log_level, settings.log_format)
    # SIGHUP asks workers to reload the sources file; the web reads sources from Redis and
    # needs nothing, but the default action would kill it.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our handler (JSON or console) for uvicorn's lines too
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
