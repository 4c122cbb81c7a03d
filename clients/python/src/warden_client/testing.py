"""A throwaway ``warden serve`` for tests (no Django needed): :class:`WardenServer` starts one on
a socket and database in a temporary folder and waits until it answers Health;
:func:`wait_serving` is that wait and :func:`stop_process` the stop, for a process started
otherwise. The Django integration's
test helpers (:mod:`warden_client.django.testing`) use them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

from .client import Client
from .errors import WardenError

#: Seconds a test server may take to answer its first Health.
START_TIMEOUT = 60.0


def wait_serving(process: subprocess.Popen[bytes], socket: str, log_path: str, timeout: float = START_TIMEOUT) -> None:
    """Wait until the ``warden serve`` ``process`` answers Health SERVING on ``socket``;
    ``RuntimeError`` (naming ``log_path``) when it exits first or does not answer in ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"warden serve exited with {process.returncode}; see {log_path}")
        if os.path.exists(socket):
            try:
                with Client(socket, timeout=2.0, connect_timeout=1.0) as client:
                    if client.health().status == "SERVING":
                        return
            except (WardenError, OSError):
                pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"warden serve did not answer on {socket} within {timeout:.0f} s; see {log_path}")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM a running ``warden serve`` and wait for it; SIGKILL when it has not exited in 30 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class WardenServer:
    """A ``warden serve`` child process on ``socket``, with its database in ``directory``
    (a temporary folder unless given; removed by :meth:`stop` when it made it)."""

    def __init__(
        self,
        *extra_arguments: str,
        binary: str | None = None,
        directory: str | None = None,
        socket: str | None = None,
    ) -> None:
        self.binary = binary or os.environ.get("WARDEN_BIN") or shutil.which("warden") or "warden"
        self._owns_directory = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="warden-test-")
        self.socket = socket or os.path.join(self.directory, "warden.sock")
        self.database = os.path.join(self.directory, "warden.db")
        self.log_path = os.path.join(self.directory, "warden.log")
        self._log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [self.binary, "serve", "--socket", self.socket, "--database", self.database,
                 "--log-level", "warning", "--synchronous", "normal", *extra_arguments],
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
        except OSError as error:
            self._log.close()
            raise RuntimeError(f"WARDEN_BIN: cannot run {self.binary!r} ({error}); build it with `swift build`") from error
        self._wait_serving()

    def _wait_serving(self) -> None:
        try:
            wait_serving(self.process, self.socket, self.log_path)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 30 s) and remove its folder if it made it."""
        stop_process(self.process)
        self._log.close()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> WardenServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
