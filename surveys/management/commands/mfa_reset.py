from django.core.management.base import BaseCommand, CommandError

from surveys.core.cross_lookups import people_by_email
from surveys.core.tenancy import person_scope_begin, person_scope_end
from surveys.models import User
from surveys.services.mfa import mfa_reset


class Command(BaseCommand):
    help = (
        "Remove a person's second factor (authenticator app and recovery codes) when they have lost both: "
        "their next sign-in asks for their password only, or, where their organisation requires it, for a new "
        "one to be set up (docs/operations.md, 'Two-step sign-in'). Check who is asking first."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The person's e-mail address.")

    def handle(self, *args, email: str, **options):
        found = [person_id for person_id, address, _ in people_by_email([email]) if address.lower() == email.lower()]
        if not found:
            raise CommandError(f"No one on Pulse has the address {email!r}.")
        token = person_scope_begin(found[0])
        try:
            user = User._default_manager.get(pk=found[0])
            removed = mfa_reset(user=user)
        finally:
            person_scope_end(token)
        self.stdout.write(
            f"Removed {removed} second factor(s) of {user.email}." if removed else f"{user.email} had none."
        )
