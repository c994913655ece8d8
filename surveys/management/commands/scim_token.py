from django.core.management.base import BaseCommand, CommandError

from surveys.core.audit import audit_context
from surveys.core.exceptions import PulseError
from surveys.core.tenancy import organization_scope
from surveys.models import Organization
from surveys.services.scim_tokens import scim_token_create


class Command(BaseCommand):
    help = (
        "Create a SCIM token for an organisation and print it (once: Pulse keeps only its hash). "
        "Give it to the identity provider with the address /scim/v2/ (docs/operations.md, 'SCIM')."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The organisation's slug (its address under /o/).")
        parser.add_argument("--name", default="SCIM", help="What the token is for, e.g. Okta (default: SCIM).")

    def handle(self, *args, slug: str, name: str, **options):
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"No organisation {slug!r}.")
        with organization_scope(organization), audit_context(organization=organization.pk):
            try:
                token, secret = scim_token_create(organization=organization, created_by=None, name=name)
            except PulseError as error:
                raise CommandError(error.message) from None
        self.stderr.write(
            f"A new SCIM token “{token.name}” ({token.prefix}…) for {organization.name}; it is shown only now:"
        )
        self.stdout.write(secret)
