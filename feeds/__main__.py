"""``python -m feeds``: serve the HTTP app with uvicorn. Settings come from the environment."""

from __future__ import annotations

import os
import sys

import uvicorn

from config.settings import Settings, SettingsError
from feeds.app import create_app


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
        app = create_app(settings)
    except (SettingsError, ValueError) as exc:
        print(f"wirefeed web: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
