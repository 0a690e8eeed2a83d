"""An auditor exports a team's evidence pack, watches it build, downloads it and verifies it offline.

Celery runs eagerly here (no broker), which would build the pack inside the request and leave nothing to
watch; the test gives the build to a worker thread instead, as a real worker would take it, held until the
page shows the queued pack and slowed so the bar has something to show.
"""

import re
import threading
import time
import zipfile

import pypdfium2 as pdfium
import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from features.demo import LOGINS
from governance.demo.loader import load_demo
from governance.evidence import services
from governance.evidence.models import EvidencePack, PackStatus
from governance.evidence.tasks import build_evidence_pack
from governance.evidence.verify import verify_pack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AUDITOR = next(login for login in LOGINS if login.username == "auditor")
BUILD_SECONDS = 4.0  # how long the slowed build takes, whatever the number of features


class ThreadWorker:
    """Stands in for a Celery worker: runs each queued build in its own thread once released."""

    def __init__(self):
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def delay(self, pack_id: int) -> None:
        thread = threading.Thread(target=self._run, args=(pack_id,), daemon=True)
        self.threads.append(thread)
        thread.start()

    def _run(self, pack_id: int) -> None:
        try:
            self.release.wait(timeout=30)
            build_evidence_pack.run(pack_id)
        except BaseException as error:  # reported by the test, not lost in a thread
            self.errors.append(error)
        finally:
            connection.close()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.fixture
def worker(monkeypatch, settings, tmp_path):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    settings.EVIDENCE_SIGNING_KEY_FILE = str(tmp_path / "evidence-signing-key.pem")
    real_build = services.build_pack

    def slowed_build(**kwargs):
        report = kwargs["progress"]

        def progress(done: int, total: int) -> None:
            time.sleep(BUILD_SECONDS / max(total, 1))
            report(done, total)

        return real_build(**{**kwargs, "progress": progress})

    monkeypatch.setattr(services, "build_pack", slowed_build)
    thread_worker = ThreadWorker()
    monkeypatch.setattr(build_evidence_pack, "delay", thread_worker.delay)
    yield thread_worker
    thread_worker.release.set()
    thread_worker.join()


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('Log in')")
    expect(page.locator(".whoami")).to_contain_text(AUDITOR.full_name)


def test_auditor_exports_watches_downloads_and_verifies_a_team_pack(
    browser_page, console_errors, artefacts, worker, tmp_path
):
    load_demo()
    page = browser_page
    log_in(page, AUDITOR.username, AUDITOR.password)

    page.click("nav >> text=Evidence")
    expect(page.locator("h1")).to_have_text("Evidence")
    page.check("input[name=scope][value=team]")
    page.select_option("#id_team", "recommendations")
    with page.expect_navigation():
        page.click("button:has-text('Export evidence')")

    pack = EvidencePack.objects.get()
    row = page.locator(f"#pack-{pack.pk}")
    expect(page.locator(".message.success")).to_contain_text(f"Evidence pack {pack.pk} requested: Team recommendations")
    expect(row.locator(".status")).to_have_text("Queued")
    expect(row.locator("progress")).to_have_count(1)

    # From here on the page must change by itself: a reload would lose the marker.
    page.evaluate("window.__marker = 1")
    worker.release.set()

    expect(row.locator(".status")).to_have_text("Building", timeout=10_000)
    bar = row.locator("progress")
    expect(bar).to_have_attribute("value", re.compile(r"^[1-9]\d*$"), timeout=10_000)  # some work done
    page.screenshot(path=artefacts / "evidence-building.png", full_page=True)

    expect(row.locator(".status")).to_have_text("Ready", timeout=30_000)
    expect(row.locator("progress")).to_have_count(0)
    download_link = row.locator("a:has-text('Download')")
    expect(download_link).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "the status came with a page reload, not by polling the row"
    worker.join()
    assert worker.errors == []
    pack.refresh_from_db()
    assert pack.status == PackStatus.READY
    page.screenshot(path=artefacts / "evidence-ready.png", full_page=True)

    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename == pack.file_name
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    public_key = page.request.get("/evidence/public-key.pem")
    assert public_key.ok
    verification = verify_pack(saved, public_key_pem=public_key.body())
    assert verification.ok, verification.problems
    assert verification.manifest["scope"]["key"] == "recommendations"

    with zipfile.ZipFile(saved) as archive:
        pdf = archive.read("report.pdf")
    document = pdfium.PdfDocument(pdf)
    document.get_page(0).render(scale=1.5).to_pil().save(artefacts / "evidence-report-page1.png")
    assert len(document) >= 1

    assert console_errors == []
