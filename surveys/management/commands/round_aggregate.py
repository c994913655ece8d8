from django.core.management.base import BaseCommand, CommandError

from surveys.core.exceptions import PulseError
from surveys.core.tenancy import across_organizations, organization_scope
from surveys.models import AWAITING_PUBLICATION_STATES, Round
from surveys.privacy.audit import PrivacyAuditError
from surveys.services.results import round_publish


class Command(BaseCommand):
    help = "Seal, aggregate, audit and publish closed rounds (the job Celery runs after a close)."

    def add_arguments(self, parser):
        parser.add_argument("round_ids", nargs="*", type=int, metavar="ROUND_ID")
        parser.add_argument(
            "--pending", action="store_true", help="Every closed round that is not published yet (for cron)."
        )

    def handle(self, *args, round_ids, pending, **options):
        if not pending and not round_ids:
            raise CommandError("Give round ids, or --pending for every closed round.")
        rounds = Round.all_organizations.select_related("organization")
        with across_organizations():
            if pending:
                chosen = list(rounds.filter(status__in=AWAITING_PUBLICATION_STATES).order_by("closes_at"))
            else:
                chosen = list(rounds.filter(pk__in=round_ids).order_by("pk"))
        if not pending:
            missing = set(round_ids) - {r.pk for r in chosen}
            if missing:
                raise CommandError(f"No round with id {', '.join(map(str, sorted(missing)))}.")
        failed = False
        for round_ in chosen:
            with organization_scope(round_.organization):
                try:
                    outcome = round_publish(round_id=round_.pk)
                except PulseError as error:
                    self.stderr.write(error.message)
                    failed = True
                    continue
                except PrivacyAuditError as error:
                    self.stderr.write(str(error))
                    failed = True
                    continue
            self.stdout.write(
                f"Round {round_.pk} ({round_.organization.slug}): results published for "
                f"{outcome.teams_published} team nodes ({outcome.items_published} item results)."
            )
        if failed:
            raise CommandError("Some rounds were not published (see above).")
