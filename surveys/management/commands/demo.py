from django.core.management.base import BaseCommand
from django.db import transaction

from surveys.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_exists, demo_remove, demo_seed


class Command(BaseCommand):
    help = "Seed the demo organisations (once) and print their logins. --reset seeds them afresh."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Delete the demo organisations and seed again.")

    def handle(self, *args, reset: bool = False, **options):
        if reset or not demo_exists():
            with transaction.atomic():
                demo_remove()
                demo_seed()
            self.stdout.write(self.style.SUCCESS("Seeded the demo organisations."))
        else:
            self.stdout.write("The demo organisations are already there (use --reset to start again).")
        self._print_logins()

    def _print_logins(self):
        width = max(len(email) for _, email, _ in DEMO_LOGINS)
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Pulse demo: open http://127.0.0.1:8000/ and sign in as"))
        for who, email, what in DEMO_LOGINS:
            self.stdout.write(f"  {email.ljust(width)}  {who}: {what}")
        self.stdout.write(f"  Every demo password is: {DEMO_PASSWORD}")
        self.stdout.write("")
