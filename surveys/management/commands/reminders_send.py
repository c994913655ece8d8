from django.core.management.base import BaseCommand

from surveys.services import jobs


class Command(BaseCommand):
    help = "Send the half-way reminders of open rounds: once, to everyone invited (answered or not). Safe to rerun."

    def handle(self, *args, **options):
        self.stdout.write(f"reminders_send: {jobs.reminders_send()}")
