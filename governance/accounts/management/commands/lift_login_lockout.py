"""`manage.py lift_login_lockout <username> [--address A]`: let a locked-out person try again at once."""

from django.core.management.base import BaseCommand

from governance.accounts.lockout import lockout_lift


class Command(BaseCommand):
    help = "Clear a username's failed logins and lockouts (from every address, or from one)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--address", help="Only the lockout from this address.")

    def handle(self, *args, username: str, address: str | None, **options):
        cleared = lockout_lift(username=username, address=address)
        self.stdout.write(f"Cleared {cleared} lockout record(s) for {username}.")
