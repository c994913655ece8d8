import time

from django.core.management.base import BaseCommand

from delivery.standin import SlackStandIn, standin_serve


class Command(BaseCommand):
    help = (
        "Run a local stand-in for Slack's Web API (for the demo): Pulse's Slack app installs into it, its messages "
        "are kept in memory and read on Settings → Channels → Outbox. Never for production."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--domain", action="append", default=[], help="An e-mail domain whose people are all in the workspace."
        )

    def handle(self, *args, port: int = 8765, domain: list[str], **options):
        standin = SlackStandIn(domains=tuple(d.lower() for d in domain))
        server = standin_serve(standin, port=port)
        self.stdout.write(f"Slack stand-in on http://127.0.0.1:{server.server_address[1]}/api/")
        self.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.shutdown()
