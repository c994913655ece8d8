import logging

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from surveys.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_employee_link, demo_exists, demo_remove, demo_seed


class Command(BaseCommand):
    help = (
        "Seed the demo organisations (once): people, teams, a fortnightly pulse with closed and "
        "aggregated rounds and one open round. Prints the logins. --reset seeds them afresh."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Delete the demo organisations and seed again.")

    def handle(self, *args, reset: bool = False, **options):
        if reset or not demo_exists():
            self.stdout.write("Seeding the demo organisations (people, teams, six closed rounds)…")
            # The seed's own invitations, notices and job logs would flood the console.
            logging.disable(logging.INFO)
            try:
                with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                    with transaction.atomic():
                        demo_remove()
                    demo_seed()
            finally:
                logging.disable(logging.NOTSET)
            self.stdout.write(self.style.SUCCESS("Seeded the demo organisations."))
        else:
            self.stdout.write("The demo organisations are already there (use --reset to start again).")
        self._print_logins()

    def _print_logins(self):
        width = max(len(email) for _, email, _ in DEMO_LOGINS)
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(f"Pulse demo: open {settings.PULSE_BASE_URL}/ and sign in as"))
        for who, email, what in DEMO_LOGINS:
            self.stdout.write(f"  {email.ljust(width)}  {who}: {what}")
        self.stdout.write(f"  Every demo password is: {DEMO_PASSWORD}")
        link, why_not = demo_employee_link()
        self.stdout.write("")
        if link:
            self.stdout.write(self.style.MIGRATE_HEADING("Answer the open pulse as the demo employee (no sign-in):"))
            self.stdout.write(f"  {link}")
        else:
            self.stdout.write(f"No answering link to print: {why_not}.")
        self.stdout.write("")
