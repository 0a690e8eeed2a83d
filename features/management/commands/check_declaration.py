"""`manage.py check_declaration FILE…`: run the policy engine on declaration files, for CI.

Exit status: 0 when no finding is critical, 1 when one is, 2 when a file cannot be read as a
declaration, 3 when the registry cannot be read (the check did not run). Reads the catalogue and
inventory; never writes to the database.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from features.selectors import policy_context_for
from governance.policy.files import FileReport, check_files, exit_code
from governance.policy.severity import Severity


class Command(BaseCommand):
    help = "Check declaration files (YAML or JSON, '-' for stdin) against the policy rules."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="Declaration files; '-' reads stdin.")
        parser.add_argument("--format", choices=("text", "json"), default="text", help="Output format.")
        parser.add_argument(
            "--feature",
            metavar="KEY",
            help="The feature the file declares, so its own filed versions do not count as identity reuse.",
        )

    def handle(self, *args, **options):
        try:
            context = policy_context_for(options["feature"])
        except DatabaseError as error:
            raise CommandError(
                f"Cannot read the signal catalogue and identity inventory ({error}); is the database migrated?",
                returncode=3,
            ) from None
        reports = check_files(options["files"], context, stdin=options.get("stdin"))
        code = exit_code(reports)
        if options["format"] == "json":
            self.stdout.write(json.dumps({"exit_code": code, "files": [r.as_dict() for r in reports]}, indent=2))
        else:
            for report in reports:
                self._write_text(report)
        if code:
            sys.exit(code)

    def _write_text(self, report: FileReport) -> None:
        if report.malformed:
            self.stderr.write(f"{report.source}: not a valid declaration")
            for path, messages in report.errors.items():
                for message in messages:
                    self.stderr.write(f"  {path or '(file)'}: {message}")
            return
        critical = sum(1 for finding in report.findings if finding.severity == Severity.CRITICAL)
        summary = f"{report.source}: {len(report.findings)} finding(s), {critical} critical"
        style = self.style.ERROR if critical else self.style.WARNING if report.findings else self.style.SUCCESS
        self.stdout.write(style(summary))
        for finding in report.findings:
            self.stdout.write(f"  {finding.severity.upper():<8} {finding.rule_id}  {finding.path or '(declaration)'}")
            self.stdout.write(f"    {finding.message}")
            self.stdout.write(f"    see: {'; '.join(str(reference) for reference in finding.references)}")
