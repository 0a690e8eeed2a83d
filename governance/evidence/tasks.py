"""Evidence work in the background: a thin wrapper around `governance.evidence.services.evidence_build`."""

from celery import shared_task

from governance.celery import idempotent_task
from governance.evidence.services import evidence_build


# At the soft limit a runaway build ends as a failed pack (evidence_build records why), rather than
# holding its message past the broker's redelivery deadline.
@shared_task(**idempotent_task(soft_time_limit=20 * 60))
def build_evidence_pack(pack_id: int) -> str | None:
    """Idempotent: a ready or failed pack is left alone; an interrupted build starts again from nothing."""
    pack = evidence_build(pack_id=pack_id)
    return None if pack is None else pack.status
