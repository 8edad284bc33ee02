"""Test doubles: real git repositories built on the fly and a fake GitHub REST API over them."""

import signal
import threading
from contextlib import AbstractContextManager
from typing import Any


def serve_until_stopped(server: AbstractContextManager[Any], banner: str) -> int:
    """Run a fake in the foreground (``python -m tests.fakes.…``) until SIGTERM or Ctrl-C."""
    stopped = threading.Event()
    # SIGTERM (how test harnesses stop us) should exit as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    with server:
        # Launchers read this line to learn the URL (useful with --port 0).
        print(banner.format(server=server), flush=True)
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
    return 0
