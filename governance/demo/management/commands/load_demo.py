"""`manage.py load_demo`: fill an empty database with the demo registry and print its logins."""

from django.core.management.base import BaseCommand, CommandError

from features.demo import TEAMS
from governance.demo.loader import DemoNotLoaded, DemoSummary, load_demo


class Command(BaseCommand):
    help = "Load demo teams, logins, signals, service identities, features and telemetry (idempotent)."

    def handle(self, *args, **options):
        try:
            summary = load_demo()
        except DemoNotLoaded as refused:
            raise CommandError(str(refused)) from None
        if summary.loaded:
            counts = summary.counts
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded the demo: {counts['teams']} teams, {counts['signals']} signals, "
                    f"{counts['identities']} service identities, {counts['features']} features, "
                    f"{counts['observations']:,} observations of their data paths over 30 days."
                )
            )
        else:
            self.stdout.write("The demo data is already loaded; nothing was changed.")
        self._print_logins(summary)

    def _print_logins(self, summary: DemoSummary) -> None:
        self.stdout.write("\nLogins (development passwords only, never use them anywhere else):")
        width = max(len(login.username) for login in summary.logins)
        for login in summary.logins:
            teams = f" · {', '.join(TEAMS[slug] for slug in login.teams)}" if login.teams else ""
            self.stdout.write(
                f"  {login.username:<{width}}  {login.password:<20}  {login.full_name}, {login.role.label}{teams}"
            )
