"""`manage.py verify_audit`: recompute the audit chain; exit 0 when intact, 1 at the first broken link."""

from django.core.management.base import BaseCommand, CommandError

from governance.audit.chain import verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain: exits 0 when intact, 1 naming the first broken link."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=5000, help="Events read per database round trip.")

    def handle(self, *args, chunk_size: int, **options):
        result = verify(chunk_size=chunk_size)
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at event {result.first_broken_sequence}: {result.problem}. "
                f"{result.checked} events verified before it.",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {result.checked} events, head {result.head_sequence} {result.head_hash}"
            )
        )
