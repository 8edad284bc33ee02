"""Test doubles: real git repositories built on the fly and a fake GitHub REST API over them."""

import signal
import threading
from contextlib import AbstractContextManager
from socketserver import BaseServer
from types import TracebackType
from typing import Any, Self


class BackgroundServer:
    """The lifecycle every fake shares: its ``_server`` serves on a daemon thread between
    ``start()`` and ``stop()``, or inside ``with``."""

    _server: BaseServer
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        # A short poll interval makes stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


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
