import datetime

from django.core.management.base import BaseCommand

from governance.reviews.expiry import review_sweep


class Command(BaseCommand):
    help = "Open re-review findings for expired approvals and reopen lapsed risk acceptances (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=datetime.date.fromisoformat, help="Pretend today is this date.")

    def handle(self, *args, today=None, **options):
        result = review_sweep(today)
        self.stdout.write(
            f"{result.approvals_expired} approval(s) expired; {result.acceptances_lapsed} acceptance(s) lapsed."
        )
