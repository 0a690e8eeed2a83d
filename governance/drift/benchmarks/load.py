"""Sending the batches: concurrent client processes, each with one keep-alive HTTP connection.

Clients take the next unsent batch from a shared counter (so none idles while another has work left),
and the clock runs from the moment all of them are ready until the last answer is read.
"""

from __future__ import annotations

import http.client
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson

from governance.drift.benchmarks.cpu import CpuPerBatch

TIMEOUT_SECONDS = 120


@dataclass
class LoadResult:
    """What one run of all batches through one endpoint did."""

    seconds: float  # from the first send to the last answer
    events: int
    accepted: int
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    cpu: CpuPerBatch | None = None  # filled in by the caller, who knows the servers
    settle_seconds: float = 0.0  # after the last answer, until what was accepted is all in its tables

    @property
    def events_per_second(self) -> float:
        return self.events / (self.seconds + self.settle_seconds)

    @property
    def ok(self) -> bool:
        return not self.failures and self.accepted == self.events and set(self.statuses) == {200}


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _client(port, path, bodies, keys, headers, next_batch, ready, results) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
    accepted, statuses, failures = 0, Counter(), []
    ready.wait()
    try:
        while True:
            with next_batch.get_lock():
                index = next_batch.value
                next_batch.value += 1
            if index >= len(bodies):
                break
            request_headers = {**headers, "Idempotency-Key": keys[index]} if keys else headers
            # http.client reconnects by itself when a server closes the connection after a response.
            connection.request("POST", path, bodies[index], request_headers)
            response = connection.getresponse()
            answer = response.read()
            statuses[response.status] += 1
            if response.status != 200:
                failures.append(f"batch {index}: HTTP {response.status} {answer[:300]!r}")
                continue
            body = orjson.loads(answer)
            accepted += body.get("accepted", 0)
            if body.get("rejected"):
                failures.append(f"batch {index}: rejected {str(body['rejected'])[:300]}")
    except Exception as error:  # reported by the parent: the run fails loudly
        failures.append(f"client failed: {error!r}")
    finally:
        connection.close()
    results.put((time.monotonic(), accepted, dict(statuses), failures))


def send_batches(
    *, port: int, path: str, bodies: list[bytes], events: int, clients: int, headers: dict[str, str], keys=None
) -> LoadResult:
    """Send every body once through `clients` processes; time from the first send to the last answer."""
    context = multiprocessing.get_context("fork")  # the children inherit the bodies instead of a pickled copy
    next_batch = context.Value("l", 0)
    ready = context.Barrier(clients + 1)
    results = context.Queue()
    processes = [
        context.Process(
            target=_client, args=(port, path, bodies, keys, headers, next_batch, ready, results), daemon=True
        )
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    ready.wait()
    started = time.monotonic()
    finished, result = [], LoadResult(seconds=0.0, events=events, accepted=0)
    try:
        for _ in processes:
            ended, accepted, statuses, failures = results.get(timeout=TIMEOUT_SECONDS * 2)
            finished.append(ended)
            result.accepted += accepted
            result.statuses.update(statuses)
            result.failures += failures
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    result.seconds = max(finished) - started
    return result
