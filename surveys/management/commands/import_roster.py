from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from surveys.models import Membership, Organization, RosterImportStatus
from surveys.services.roster import MAX_BYTES, roster_import_start
from surveys.tenancy import organization_scope

SUMMARY_LINES = (
    ("People", (("created", "people_created"), ("updated", "people_updated"), ("reactivated", "people_reactivated"),
                ("deactivated", "people_deactivated"), ("unchanged", "people_unchanged"))),
    ("Teams", (("created", "teams_created"), ("kept but not in the file", "teams_not_in_file"))),
    ("Team leads", (("added", "leads_added"), ("removed", "leads_removed"))),
)  # fmt: skip


class Command(BaseCommand):
    help = (
        "Import a roster CSV (email,name,team,role,manages) into an organisation. Every row is checked "
        "first: if any is wrong, nothing is imported and each problem is printed with its line number."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, header on line 1).")
        parser.add_argument("--org", required=True, metavar="SLUG", help="The organisation's slug.")
        parser.add_argument(
            "--as",
            dest="as_email",
            metavar="EMAIL",
            help="Import as this member: recorded as the uploader, and never deactivated or stripped of HR rights.",
        )

    def handle(self, *args, file: str, org: str, as_email: str | None = None, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation with the slug “{org}”.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"{file} is larger than 20 MB, the most Pulse imports at once.")
        with organization_scope(organization):
            importer = self._importer(organization, as_email)
            result = roster_import_start(
                organization=organization,
                uploaded_by=importer,
                filename=path.name,
                content=path.read_bytes(),
                background=False,
            )
        if result.status != RosterImportStatus.DONE:
            for error in result.errors:
                column = f" ({error['column']})" if error["column"] else ""
                self.stdout.write(f"line {error['line']}{column}: {error['message']}")
            count = len(result.errors)
            raise CommandError(f"Nothing was imported: {count} problem{'s' if count != 1 else ''} in {path.name}.")
        self._print_summary(organization, result.summary)

    def _importer(self, organization: Organization, email: str | None) -> Membership | None:
        if not email:
            return None
        importer = Membership.objects.filter(user__email=email.strip().lower(), is_active=True).first()
        if importer is None:
            raise CommandError(f"{email} is not an active member of {organization.name}.")
        return importer

    def _print_summary(self, organization: Organization, summary: dict) -> None:
        self.stdout.write(self.style.SUCCESS(f"Imported {summary['rows']:,} people into {organization.name}."))
        for title, parts in SUMMARY_LINES:
            self.stdout.write(f"{title}: " + ", ".join(f"{summary[key]:,} {label}" for label, key in parts) + ".")
        for note in summary["notes"]:
            self.stdout.write(self.style.WARNING(note))
        if summary.get("ignored_columns"):
            self.stdout.write("Ignored columns: " + ", ".join(summary["ignored_columns"]) + ".")
        self.stdout.write(f"Saved in {summary['seconds']} s.")
