"""Publishing a closed round's results: seal, aggregate, audit, write, notify
(docs/architecture.md, "A round closes, is sealed and published")."""

from __future__ import annotations

import gc
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.core.enqueue import enqueue
from surveys.core.exceptions import PulseError
from surveys.core.phases import phase, phase_started
from surveys.engine import aggregation
from surveys.engine.changes import CHANGE_RULE_VERSION, estimate_stability, stability_record
from surveys.models import ChangeStability, Result, ResultLines, Round, RoundStatus, RoundTeam
from surveys.privacy.audit import AuditReport, PrivacyAuditError, audit_round
from surveys.selectors.results import stability_histories
from surveys.services.rounds import round_units_freeze
from surveys.services.sealing import round_seal

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishOutcome:
    round_id: int
    teams_published: int
    items_published: int
    newly_published: bool  # False: the round was published before, and nothing changed
    audit: AuditReport | None  # None when nothing was computed


def round_publish(*, round_id: int) -> PublishOutcome:
    """Everything that follows a close: seal what was said (once), then aggregate, audit and
    publish. The task, the operator command and the demo all come through here. Raises
    PulseError for a round that is not closed, PrivacyAuditError when the audit fails."""
    round_seal(round_id=round_id)
    return results_publish(round_id=round_id)


def results_publish(*, round_id: int) -> PublishOutcome:
    """Aggregate a closed round, audit what would be published, and publish it in one
    transaction (its Results written, status `published`).

    Published results are final: a round already published is left exactly as it is (a
    redelivered task, a second worker that waited for the lock, the operator command), because
    a second publication computed on anything that changed since could be subtracted from the
    first (docs/privacy.md, "Published results are final"). The round row is locked first, so two
    workers take turns. The auditor checks the exact rows before they are written; if it fails,
    nothing is published: the round is marked `failed` with the reason (it may be run again
    once fixed), and the error is raised. Managers are e-mailed after the commit. The commit
    stays durable: docs/decisions/2026-11-25-audit-before-write-and-durable-commit.md.
    """
    try:
        with transaction.atomic():
            with phase("lock the round"):
                # FOR NO KEY UPDATE: a second aggregation waits, rows merely pointing at the round
                # (an action plan being saved) do not.
                locked = Round.objects.select_for_update(of=("self",), no_key=True)
                round_ = locked.select_related("survey").get(pk=round_id)
            if round_.is_published:
                return _already_published(round_)
            if Result.objects.filter(round=round_).exists():
                # Results without the published status: someone changed the status by hand.
                # Publishing again could differ from what was shown; refuse and change nothing.
                logger.error("Round %s has results but is %s: not publishing again.", round_.pk, round_.status)
                raise PulseError(
                    _("Round %(round)s already has published results, and published results are final.")
                    % {"round": round_.pk},
                    code="already_published",
                    status=409,
                )
            if not round_.may_publish:
                raise PulseError(
                    _("Round %(round)s is %(status)s: results wait for the close.")
                    % {"round": round_.pk, "status": round_.get_status_display().lower()},
                    code="round_not_closed",
                    status=409,
                )
            if RoundTeam.objects.filter(round=round_, invited__gt=0, unit__isnull=True).exists():
                # Opened before reporting units existed: they come from the frozen tree alone.
                round_units_freeze(round_=round_)
            computed, report = _aggregate_audit_write(round_)
            round_.status = RoundStatus.PUBLISHED
            round_.published_at = timezone.now()
            round_.failure_reason = ""
            round_.teams_published = len(computed.results)
            round_.save(update_fields=["status", "published_at", "failure_reason", "teams_published"])
            # Registered first, so it runs as soon as the commit is done, before the e-mails.
            transaction.on_commit(phase_started("commit"))
            # Change flags of the survey's later rounds (if any were published first) look back on
            # this one now: their stored CSV lines are computed again when next read.
            ResultLines.objects.filter(round__survey=round_.survey, round__number__gt=round_.number).delete()
            # The stability estimate first: the e-mails and the prepared flags use it.
            enqueue("surveys.tasks.round_stability_estimate", round_id)
    except PrivacyAuditError as error:
        _round_fail(round_id=round_id, reason=str(error))
        raise
    items = computed.results.items_published
    logger.info("Round %s published: %s team nodes, %s item results.", round_id, len(computed.results), items)
    return PublishOutcome(round_id, len(computed.results), items, True, report)


def round_stability_estimate(*, round_id: int) -> ChangeStability | None:
    """After a publication: estimate how stable the organisation's answers are between rounds
    as of this round, from the leaf teams' published rounds of the year up to it, and store it
    for the change flags of this round and later ones (docs/measurement.md, "Stability"); then
    queue the results e-mails and what the pages read again and again, which use it.

    Once per round and rule version (a redelivered task finds it stored). The estimate's cost
    grows with the leaf teams (about a second per hundred), so it runs in the worker, never in
    a request. If it fails, the flags use the previous estimate (or the prior) and the e-mails
    still go."""
    round_ = Round.objects.select_related("survey").get(pk=round_id)
    stored = None
    if round_.is_published:
        stored = ChangeStability.objects.filter(round=round_, version=CHANGE_RULE_VERSION).first()
        if stored is None:
            try:
                stored = _stability_store(round_)
            except Exception:
                logger.exception("Round %s: the stability estimate failed; its flags use the one before.", round_id)
    enqueue("surveys.tasks.round_results_notify", round_id)
    enqueue("surveys.tasks.round_results_prepare", round_id)
    return stored


def _stability_store(round_: Round) -> ChangeStability:
    nodes = stability_histories(round=round_)
    estimates = estimate_stability(nodes, cadence=round_.survey.cadence)
    with transaction.atomic():
        stored, _ = ChangeStability.objects.update_or_create(
            round=round_,
            defaults={
                "survey": round_.survey,
                "number": round_.number,
                "version": CHANGE_RULE_VERSION,
                "estimates": stability_record(estimates),
                "teams": len(nodes),
            },
        )
        # The stored CSV lines of this round and later ones may have been computed before it.
        ResultLines.objects.filter(round__survey=round_.survey, round__number__gte=round_.number).delete()
    return stored


def _already_published(round_: Round) -> PublishOutcome:
    logger.info("Round %s is already published; its results are final and stay as they are.", round_.pk)
    items = Result.objects.filter(round=round_).values_list("items", flat=True)
    return PublishOutcome(round_.pk, len(items), sum(len(row) for row in items), False, None)


def _aggregate_audit_write(round_: Round) -> tuple[aggregation.RoundAggregate, AuditReport]:
    """Compute the Results, audit exactly those rows, and only then write them.

    The auditor gets the raw counts aggregation read (one scan of the answers is the whole
    point) but reads the team tree and the round's questions itself, and derives node sets and
    subtree sums its own way (see `audit_round`)."""
    with _collector_paused():
        with phase("read (one statement)"):
            inputs = aggregation.round_inputs(round_)
        with phase("compute (forest, own counts, publication rule, rows)"):
            computed = aggregation.round_aggregate_rows(round_, inputs=inputs)
        with phase("audit"):
            report = audit_round(round_, leaf_counts=computed.leaf, results=computed.results)
        if not report.ok:
            raise PrivacyAuditError(report)
        with phase("write (COPY)"):
            aggregation.results_write(round_, computed.results)
    return computed, report


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector for the aggregation burst: it allocates many
    short-lived objects (the suppression's lists, the COPY text's integers), which can trigger
    full collections of the worker's whole heap (tens of milliseconds each) for garbage that
    reference counting frees anyway."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _round_fail(*, round_id: int, reason: str) -> None:
    """Fail closed: no Result of the round stays visible, and HR can see why."""
    logger.error("Round %s NOT published: %s", round_id, reason)
    with transaction.atomic():
        round_ = Round.objects.select_for_update().get(pk=round_id)
        Result.objects.filter(round=round_).delete()
        round_.status = RoundStatus.FAILED
        round_.failure_reason = reason
        round_.save(update_fields=["status", "failure_reason"])
