"""Building a pack streams: the data it reads and the files it writes never sit in memory whole.

The registry is read a chunk at a time (made small here, so every size spans several chunks) and each
file is written as it goes. The one thing that grows is report.pdf: reportlab keeps the finished pages,
compressed, until it writes the document out, a few kilobytes per feature.
"""

import io
import tempfile
import tracemalloc

import pytest

from governance.evidence import pack as pack_module
from governance.evidence import records
from governance.evidence.benchmarking import build_evidence_fixture
from governance.evidence.pack import PackScope, build_pack
from governance.evidence.signing import public_key_pem
from governance.evidence.verify import verify_pack
from tests.evidence.test_pack_support import use_temporary_signing_key

pytestmark = pytest.mark.django_db
SMALL, LARGE = 8, 48


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    use_temporary_signing_key(settings, tmp_path)


@pytest.fixture
def registries(monkeypatch):
    """Two teams' registries, SMALL and LARGE features, read four features at a time."""
    monkeypatch.setattr(records, "CHUNK_SIZE", 4)
    build_evidence_fixture(features=SMALL, versions=2, signals=6, edges=6, prefix="small")
    build_evidence_fixture(features=LARGE, versions=2, signals=6, edges=6, prefix="large")
    peak_while_building("small")  # warm up: imports, fonts and caches are not what is measured


def peak_while_building(prefix: str) -> tuple[int, bytes]:
    """tracemalloc's peak while building the team's pack into a file, and the pack."""
    with tempfile.TemporaryFile() as destination:
        tracemalloc.start()
        try:
            build_pack(scope=PackScope("team", f"{prefix}-team"), as_of=None, destination=destination)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        destination.seek(0)
        return peak, destination.read()


def without_the_pdf(entry, *, features, on_feature, **context):
    for _ in features:
        on_feature()


def test_everything_but_the_pdf_is_built_in_the_same_memory_for_six_times_the_features(registries, monkeypatch):
    monkeypatch.setattr(pack_module, "write_report_pdf", without_the_pdf)

    small, _ = peak_while_building("small")
    large, _ = peak_while_building("large")

    assert large < small * 1.2, (small, large)


def test_the_pdf_adds_only_its_compressed_pages(registries):
    small, _ = peak_while_building("small")
    large, pack = peak_while_building("large")

    per_feature = (large - small) / (LARGE - SMALL)
    assert per_feature < 30_000, per_feature
    assert verify_pack(io.BytesIO(pack), public_key_pem=public_key_pem()).ok
