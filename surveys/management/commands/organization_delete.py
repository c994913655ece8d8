from django.core.management.base import BaseCommand, CommandError

from surveys.models import Organization
from surveys.services.retention import organization_delete


class Command(BaseCommand):
    help = (
        "Delete an organisation and everything it holds: every tenant row, what was said with its partitions, "
        "its audit log, the accounts of people in no other organisation, its cached results (docs/operations.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--yes", action="store_true", help="Delete (without it, only say what would go).")

    def handle(self, *args, slug: str, yes: bool, **options):
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organisation {slug!r}.")
        if not yes:
            self.stdout.write(
                f"Would delete {organization.name} ({slug}) and everything it holds. Run again with --yes."
            )
            return
        organization_delete(organization=organization)
        self.stdout.write(f"Deleted {organization.name} ({slug}) and everything it held.")
