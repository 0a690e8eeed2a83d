"""`manage.py drift_sweep`: fold staged observations and judge every feature and every observed key now (what
the periodic task does)."""

import json as _json

from django.core.management.base import BaseCommand

from governance.drift.evaluate import drift_sweep


class Command(BaseCommand):
    help = "Evaluate drift for every registered feature and every observed feature key."

    def add_arguments(self, parser):
        parser.add_argument("feature_keys", nargs="*", help="Only these feature keys (default: all).")
        parser.add_argument("--json", action="store_true", help="Print the counts as JSON.")

    def handle(self, *args, feature_keys, json: bool = False, **options):
        result = drift_sweep(feature_keys or None)
        if json:
            self.stdout.write(_json.dumps(result.as_dict()))
        else:
            self.stdout.write(
                f"Drift evaluated for {result.features} feature key(s): {result.opened} opened, "
                f"{result.resolved} resolved, {result.kept} still open or accepted."
            )
