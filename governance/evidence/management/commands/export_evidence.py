"""`manage.py export_evidence --scope team:recommendations [--as-of 2026-01-31] --out pack.zip`: build one
evidence pack synchronously (the browser builds them in the background)."""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from governance.evidence.asof import end_of_day
from governance.evidence.pack import PackScope, PackScopeInvalid, build_pack


def _as_of(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return end_of_day(datetime.date.fromisoformat(text))
    except ValueError:
        raise CommandError(f"--as-of takes a date such as 2026-01-31, not {text!r}.") from None


class Command(BaseCommand):
    help = "Build an evidence pack (a signed ZIP) of a feature, a team or the whole registry."

    def add_arguments(self, parser):
        parser.add_argument("--scope", default="registry", help="registry (default), team:<slug> or feature:<key>.")
        parser.add_argument("--as-of", help="The registry as it stood at the end of this day (UTC), YYYY-MM-DD.")
        parser.add_argument("--out", required=True, help="Where to write the ZIP.")

    def handle(self, *args, scope: str, as_of: str | None, out: str, **options):
        pack_scope = PackScope.parse(scope)
        now = timezone.now()
        moment = _as_of(as_of)
        if moment is not None:
            moment = min(moment, now)  # today: up to now
        path = Path(out)
        partial = path.with_name(path.name + ".part")
        try:
            with partial.open("wb") as destination:
                summary = build_pack(scope=pack_scope, as_of=moment, destination=destination, now=now)
        except (PackScopeInvalid, ValueError) as error:
            partial.unlink(missing_ok=True)
            raise CommandError(str(error)) from None
        partial.replace(path)
        head = summary.manifest["audit_chain_head"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {path}: {summary.feature_count} feature(s) of {pack_scope.label()}, "
                f"{len(summary.files)} files, audit chain head #{head['sequence']} {head['hash']}."
            )
        )
