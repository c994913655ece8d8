from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope
from surveys.models import Membership, Organization, RosterImportMode, RosterImportStatus
from surveys.models.roster import DEFAULT_ROSTER_MODE
from surveys.services.roster import roster_import_confirm, roster_import_start
from surveys.services.roster_file import MAX_BYTES

#: What the preview and the report print: (title, ((label, count key), …)).
COUNT_LINES = (
    ("People", (("added", "people_added"), ("moved", "people_moved"), ("updated", "people_updated"),
                ("reactivated", "people_reactivated"), ("deactivated", "people_deactivated"),
                ("unchanged", "people_unchanged"))),
    ("Teams", (("created", "teams_created"), ("renamed", "teams_renamed"), ("left without people", "teams_emptied"))),
    ("Team leads", (("added", "leads_added"), ("removed", "leads_removed"))),
)  # fmt: skip


class Command(BaseCommand):
    help = (
        "Check a roster CSV (email,name,team,role,manages) against an organisation and print what importing it "
        "would change. Nothing is written without --yes. Every row is checked first: if any is wrong, each "
        "problem is printed with its line number and nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8, header on line 1).")
        parser.add_argument("--org", required=True, metavar="SLUG", help="The organisation's slug.")
        parser.add_argument(
            "--mode",
            choices=RosterImportMode.values,
            default=DEFAULT_ROSTER_MODE,
            help="add (default): people not in the file stay as they are; sync: they are deactivated.",
        )
        parser.add_argument("--yes", action="store_true", help="Write the changes the preview shows.")
        parser.add_argument(
            "--deactivate-many",
            action="store_true",
            help="Needed with --yes when the import deactivates more than one person in ten.",
        )
        parser.add_argument(
            "--as",
            dest="as_email",
            metavar="EMAIL",
            help="Import as this member: recorded as the uploader, and never deactivated or stripped of HR rights.",
        )

    def handle(self, *args, file: str, org: str, mode: str, yes: bool, deactivate_many: bool, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation with the slug “{org}”.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"{file} is larger than 20 MB, the most Pulse imports at once.")
        with organization_scope(organization):
            importer = self._importer(organization, options.get("as_email"))
            started = roster_import_start(
                organization=organization,
                uploaded_by=importer,
                filename=path.name,
                content=path.read_bytes(),
                mode=mode,
                background=False,
            )
            if started.status == RosterImportStatus.FAILED:
                self._print_problems(started, path.name)
            self._print_counts(organization, started.plan, heading="Importing this file would change:")
            if not yes:
                self.stdout.write("Nothing was written. Run again with --yes to import.")
                return
            try:
                done = roster_import_confirm(
                    roster_import=started,
                    confirmed_by=importer,
                    large_deactivation_ok=deactivate_many,
                    background=False,
                )
            except PulseError as error:
                raise CommandError(f"{error.message} (--deactivate-many)") from None
            if done.status != RosterImportStatus.DONE:
                raise CommandError("The roster changed while this ran, and nothing was imported: run it again.")
        self.stdout.write(self.style.SUCCESS(f"Imported {done.summary['rows']:,} people into {organization.name}."))
        self.stdout.write(f"Saved in {done.summary['seconds']} s.")

    def _importer(self, organization: Organization, email: str | None) -> Membership | None:
        if not email:
            return None
        importer = Membership.objects.filter(user__email=email.strip().lower(), is_active=True).first()
        if importer is None:
            raise CommandError(f"{email} is not an active member of {organization.name}.")
        return importer

    def _print_problems(self, roster_import, filename: str) -> None:
        for error in roster_import.errors:
            column = f" ({error['column']})" if error["column"] else ""
            self.stdout.write(f"line {error['line']}{column}: {error['message']}")
        count = len(roster_import.errors)
        raise CommandError(f"Nothing was imported: {count} problem{'s' if count != 1 else ''} in {filename}.")

    def _print_counts(self, organization: Organization, plan: dict, *, heading: str) -> None:
        self.stdout.write(heading)
        counts = plan["counts"]
        for title, parts in COUNT_LINES:
            self.stdout.write(f"  {title}: " + ", ".join(f"{counts[key]:,} {label}" for label, key in parts) + ".")
        for note in plan["notes"]:
            self.stdout.write(self.style.WARNING(note))
        if plan["ignored_columns"]:
            self.stdout.write("Ignored columns: " + ", ".join(plan["ignored_columns"]) + ".")
        if plan["large_deactivation"]:
            share = plan["deactivation_share"]
            self.stdout.write(self.style.WARNING(f"This deactivates {share:.0%} of {organization.name}'s people."))
