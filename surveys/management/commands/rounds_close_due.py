from django.core.management.base import BaseCommand

from surveys.services import jobs


class Command(BaseCommand):
    help = "Close the open rounds whose closing time has passed and hand them to aggregation. Safe to run again."

    def handle(self, *args, **options):
        self.stdout.write(f"rounds_close_due: {jobs.rounds_close_due()}")
