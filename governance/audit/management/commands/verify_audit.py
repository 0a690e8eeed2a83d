"""`manage.py verify_audit [--checkpoint PACK|SEQUENCE:HASH …]`: recompute the audit chain; exit 0 when intact,
1 at the first broken link.

The chain alone shows any event changed, removed from the middle or reordered; deleting the last events
leaves a shorter chain that still links up. A checkpoint kept outside the database shows that too: an
evidence pack (ZIP or manifest.json) records the chain's head when it was built, and a head written
down by hand works the same way.
"""

from django.core.management.base import BaseCommand, CommandError

from governance.audit.chain import verify
from governance.audit.checkpoints import CheckpointUnreadable, checkpoints_from


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain: exits 0 when intact, 1 naming the first broken link. "
        "With --checkpoint, the chain must also still hold the positions an evidence pack or a note recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=5000, help="Events read per database round trip.")
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="PACK_OR_POSITION",
            help="An evidence pack (its ZIP or manifest.json) or SEQUENCE:HASH; may be given several times.",
        )

    def handle(self, *args, chunk_size: int, checkpoint: list[str], **options):
        try:
            checkpoints = [found for argument in checkpoint for found in checkpoints_from(argument)]
        except CheckpointUnreadable as error:
            raise CommandError(f"Checkpoint not usable: {error}.", returncode=2) from None
        result = verify(chunk_size=chunk_size, checkpoints=checkpoints)
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at event {result.first_broken_sequence}: {result.problem}. "
                f"{result.checked} events verified before it.",
                returncode=1,
            )
        reaches = f"; it holds all {len(checkpoints)} checkpoints given" if checkpoints else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {result.checked} events, head {result.head_sequence} {result.head_hash}{reaches}"
            )
        )
