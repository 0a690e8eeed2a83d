"""`manage.py verify_evidence PACK.zip --public-key KEY.pem`: check the signature, then every file; exit 0
when the pack is intact, 1 naming the first failing file. An intact pack's audit chain head is printed:
`verify_audit --checkpoint PACK.zip` checks the live trail against it."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance.evidence.verify import verify_pack


class Command(BaseCommand):
    help = "Verify an evidence pack against the signing deployment's public key: exit 0 if intact, 1 if not."

    def add_arguments(self, parser):
        parser.add_argument("pack", help="The pack's ZIP file.")
        parser.add_argument("--public-key", required=True, help="The deployment's public key (PEM).")

    def handle(self, *args, pack: str, public_key: str, **options):
        try:
            pem = Path(public_key).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read the public key {public_key}: {error.strerror}.", returncode=1) from None
        result = verify_pack(pack, public_key_pem=pem)
        if not result.ok:
            for problem in result.problems[1:]:
                self.stderr.write(f"  also: {problem}")
            raise CommandError(f"Pack NOT verified: {result.problems[0]}", returncode=1)
        self.stdout.write(
            self.style.SUCCESS(f"Pack verified: signature valid, {result.files_checked} files match the manifest.")
        )
        head = result.manifest.get("audit_chain_head") or {}
        if "sequence" in head and "hash" in head:
            # The pack is a checkpoint of the audit trail: the deployment's trail must still hold it.
            self.stdout.write(
                f"It records the audit chain at event {head['sequence']} ({head['hash']}); on the deployment, "
                f"`manage.py verify_audit --checkpoint {pack}` checks that the trail still holds it."
            )
