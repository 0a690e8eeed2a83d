"""Verification streams the trail a chunk at a time: its memory does not grow with the number of events."""

import tracemalloc

import pytest

from governance.audit.benchmarking import append_synthetic_events
from governance.audit.chain import verify

pytestmark = pytest.mark.django_db
CHUNK = 200


def peak_while_verifying() -> int:
    tracemalloc.start()
    try:
        result = verify(chunk_size=CHUNK)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ok
    return peak


def test_verifying_five_times_the_events_takes_about_the_same_memory():
    append_synthetic_events(2_000)
    peak_while_verifying()  # warm up: caches and imports are not what is measured
    small = peak_while_verifying()
    append_synthetic_events(8_000)
    large = peak_while_verifying()
    # Holding every row would take five times the memory (the 10,000 rows alone are ~12 MB).
    assert large < 1.5 * small + 256 * 1024, (small, large)
