import time

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the scheduled jobs of the beat schedule (open, remind and close rounds, the aggregation and "
        "roster safety nets) in this process: once, or every N seconds until stopped. For the demo and for "
        "deployments that run cron instead of Celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=int, default=0, metavar="SECONDS", help="Run again every SECONDS (default: run once)."
        )

    def handle(self, *args, every: int = 0, **options):
        while True:
            for entry in settings.CELERY_BEAT_SCHEDULE.values():
                name = entry["task"]
                # apply(): run in this process whatever the broker, like a worker would.
                outcome = current_app.tasks[name].apply()
                short = name.rpartition(".")[2]
                if outcome.successful():
                    self.stdout.write(f"{short}: {outcome.result}")
                else:
                    self.stderr.write(f"{short} failed: {outcome.result!r}")
            if every <= 0:
                return
            self.stdout.flush()
            time.sleep(every)
