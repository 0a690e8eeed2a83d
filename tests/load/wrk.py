"""Running wrk against one page and reading its figures (tests/load/report.lua prints them as JSON)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPORT_SCRIPT = Path(__file__).with_name("report.lua")
MARK = "WRK_JSON "
REQUEST_TIMEOUT = "10s"  # longer than any answer should take: a slow page shows in p99, not as an error


class WrkFailed(Exception):
    """wrk is missing, failed, or printed no figures."""


@dataclass(frozen=True)
class WrkRun:
    """One wrk run against one page."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write errors and timeouts
    non_2xx_3xx: int  # wrk's own count ("Non-2xx or 3xx responses")
    statuses: dict[int, int] = field(default_factory=dict)
    missing_marker: int = 0  # 200 answers without the page's marker text

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        """Every answer that is not a 200 with the page's content (a redirect to the login page counts),
        and every socket error."""
        not_ok = sum(count for status, count in self.statuses.items() if status != 200)
        return self.socket_errors + max(not_ok, self.non_2xx_3xx) + self.missing_marker


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(url: str, *, seconds: int, connections: int, threads: int, cookie: str, marker: str) -> WrkRun:
    """`wrk` on `url` for `seconds`, with the session `cookie`; every 200 must contain `marker`."""
    wrk = wrk_path()
    if wrk is None:
        raise WrkFailed("wrk is not installed (apt-get install wrk).")
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", REQUEST_TIMEOUT]
    command += ["-s", str(REPORT_SCRIPT), "-H", f"Cookie: {cookie}", url, "--", marker]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)  # noqa: S603
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or len(lines) != 1:
        raise WrkFailed(f"wrk exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    figures = json.loads(lines[0].removeprefix(MARK))
    return WrkRun(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        socket_errors=sum(figures[name] for name in ("connect", "read", "write", "timeout")),
        non_2xx_3xx=figures["non_2xx_3xx"],
        statuses={int(status): count for status, count in figures["statuses"].items()},
        missing_marker=figures["missing_marker"],
    )
