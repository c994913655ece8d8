from django.core.management.base import BaseCommand

from surveys.services import jobs


class Command(BaseCommand):
    help = "Schedule next rounds, open the rounds that are due and send their invitations. Safe to run again."

    def handle(self, *args, **options):
        self.stdout.write(f"rounds_open_due: {jobs.rounds_open_due()}")
