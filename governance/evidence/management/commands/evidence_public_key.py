"""`manage.py evidence_public_key`: print the public key (PEM) that verifies this deployment's packs."""

from django.core.management.base import BaseCommand

from governance.evidence import signing


class Command(BaseCommand):
    help = "Print the Ed25519 public key (PEM) that verifies evidence packs signed by this deployment."

    def add_arguments(self, parser):
        parser.add_argument(
            "--fingerprint", action="store_true", help="Print the key's SHA-256 fingerprint (as in manifests) instead."
        )

    def handle(self, *args, **options):
        pem = signing.public_key_pem()
        if options["fingerprint"]:
            self.stdout.write(signing.fingerprint(signing.load_public_key(pem)))
        else:
            self.stdout.write(pem.decode("ascii"), ending="")
