"""Sealing: after a round closes, cut what was said loose from when, and so from who, said it.

Threat: someone who can read the database itself (a database administrator, a leaked backup, a
read replica) rather than the product. A response and its participation are written in one
transaction (docs/privacy.md, "Storage"), and on PostgreSQL every row records the transaction that wrote it
(`xmin`), so a plain join on `xmin` links a person's Participation to their Response, Answers
and Comment. Rows also sit in the order they were written, in every engine, so storage order
follows submission order, which the participations reveal too.

Sealing rewrites the round's Responses, Answers and Comments in one transaction, in a random
order and under fresh random keys, and the originals go: every row then carries the sealing
transaction's id and a position that says nothing about when it was written. Nothing about
what was said changes (the same teams, questions, values and texts), so aggregation and the
audit give exactly the same figures. It runs once per round, before aggregation (the
`round_aggregate` task seals first), after the close has made the round read-only.

On PostgreSQL each round's rows have partitions of their own (migration 0011), and sealing
(`pulse_seal`, run as the tables' owner) writes the shuffled copy into new tables and swaps
them in for the round's partitions, whose files are dropped: no old row version is left in
the tables for a VACUUM to reclaim, and the cost is the round's, whatever else the tables hold
(docs/decisions/2026-11-30-said-tables-partitioned-by-round.md). The originals still live in
the write-ahead log and in backups until those are rotated.
"""

from __future__ import annotations

import random
import uuid

from django.db import connection, transaction
from django.utils import timezone

from surveys.models import Answer, Comment, Response, Round


def round_seal(*, round_id: int) -> bool:
    """Seal a closed round once; True if it was sealed now, False if there was nothing to do."""
    with transaction.atomic():
        round_ = Round.objects.select_for_update(of=("self",), no_key=True).get(pk=round_id)
        if round_.sealed_at is not None or not round_.is_finished:
            return False
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pulse_seal(%s)", [round_.pk])
        else:
            _rewrite_in_python(round_)
        round_.sealed_at = timezone.now()
        round_.save(update_fields=["sealed_at"])
    return True


def _rewrite_in_python(round_: Round) -> None:
    """The same rewrite through the ORM (SQLite, the demo): fresh keys, shuffled insert order."""
    shuffle = random.SystemRandom().shuffle
    responses = list(Response.objects.filter(round=round_))
    new_ids = {response.pk: uuid.uuid4() for response in responses}
    answers = list(Answer.objects.filter(round=round_))
    comments = list(Comment.objects.filter(round=round_))
    for rows in (responses, answers, comments):
        shuffle(rows)
    Answer.objects.filter(round=round_).delete()
    Response.objects.filter(round=round_).delete()
    Comment.objects.filter(round=round_).delete()
    for response in responses:
        response.pk = new_ids[response.pk]
    for answer in answers:
        answer.pk, answer.response_id = uuid.uuid4(), new_ids[answer.response_id]
    for comment in comments:
        comment.pk = uuid.uuid4()
    Response.objects.bulk_create(responses, batch_size=500)
    Answer.objects.bulk_create(answers, batch_size=500)
    Comment.objects.bulk_create(comments, batch_size=500)
