"""Gunicorn for the benchmark: started with given settings, awaited until it answers, always stopped."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTUP_SECONDS = 30
STOP_SECONDS = 10


class ServerFailed(Exception):
    """A server did not start or answer; the message holds the end of its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`with Gunicorn(app, …) as server:` runs `app` on `server.port` until the block ends."""

    def __init__(self, app: str, *, workers: int, threads: int, env: dict[str, str], cwd: Path, probe_path: str):
        self.app, self.workers, self.threads = app, workers, threads
        self.env, self.cwd, self.probe_path = env, cwd, probe_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="benchmark-gunicorn-", suffix=".log")  # noqa: SIM115

    @property
    def settings(self) -> str:
        kind = f"gthread, {self.threads} threads each" if self.threads > 1 else "sync"
        return f"gunicorn, {self.workers} workers ({kind})"

    def command(self) -> list[str]:
        command = [str(Path(sys.executable).with_name("gunicorn")), self.app, "-w", str(self.workers)]
        command += ["-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "--backlog", "256"]
        if self.threads > 1:
            command += ["-k", "gthread", "--threads", str(self.threads)]
        return command

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, our own arguments
            self.command(),
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its workers too
        )
        try:
            self._wait_until_it_answers()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"{self.app} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", self.probe_path)
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.1)
        raise ServerFailed(f"{self.app} did not answer within {STARTUP_SECONDS} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers), then SIGKILL to its process group if need be."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process is not None:
            with contextlib.suppress(ProcessLookupError):  # workers left behind by a master that died
                os.killpg(process.pid, signal.SIGKILL)
        self.log.close()
