"""Evidence work in the background: a thin wrapper around `governance.evidence.services.evidence_build`."""

from celery import shared_task

from governance.evidence.services import evidence_build


@shared_task(acks_late=True, reject_on_worker_lost=True)
def build_evidence_pack(pack_id: int) -> str | None:
    """Idempotent: a ready or failed pack is left alone; an interrupted build starts again from nothing."""
    pack = evidence_build(pack_id=pack_id)
    return None if pack is None else pack.status
