"""Sealing: after a round closes, cut what was said loose from when, and so from who, said it.

Threat: someone who can read the database itself (a database administrator, a leaked backup, a
read replica) rather than the product. A response and its participation are written in one
transaction (docs/privacy.md, "Storage"), and on PostgreSQL every row records the transaction that wrote it
(`xmin`), so a plain join on `xmin` links a person's Participation to their Response, Answers
and Comment. Rows also sit in the order they were written, in every engine, so storage order
follows submission order, which the participations reveal too.

Sealing rewrites the round's Responses, Answers and Comments in one transaction, in a random
order and under fresh random keys, and deletes the originals: every row then carries the
sealing transaction's id and a position that says nothing about when it was written. Nothing
about what was said changes (the same teams, questions, values and texts), so aggregation and
the audit give exactly the same figures. It runs once per round, before aggregation (the
`round_aggregate` task seals first), after the close has made the round read-only.

On PostgreSQL, sealing then VACUUMs the three tables: that reclaims the originals' row
versions from the tables' pages at once, and sets the visibility map the histogram's
index-only scan needs (freshly written rows would send every aggregation read back to the
heap). The originals still live in the write-ahead log and in backups until those are rotated.
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
            _rewrite_in_sql(round_)
        else:
            _rewrite_in_python(round_)
        round_.sealed_at = timezone.now()
        round_.save(update_fields=["sealed_at"])
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        _vacuum()
    return True


def _vacuum() -> None:
    """VACUUM cannot run inside a transaction; callers inside one (tests) leave it to autovacuum."""
    tables = ", ".join(model._meta.db_table for model in (Response, Answer, Comment))
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


def _rewrite_in_sql(round_: Round) -> None:
    params = {"organization": round_.organization_id, "round": round_.pk}
    response, answer, comment = (model._meta.db_table for model in (Response, Answer, Comment))
    statements = [
        f"""CREATE TEMPORARY TABLE pulse_sealed_responses ON COMMIT DROP AS
            SELECT id AS old_id, gen_random_uuid() AS new_id FROM {response}
            WHERE organization_id = %(organization)s AND round_id = %(round)s""",
        f"""INSERT INTO {response} (id, organization_id, round_id, team_id)
            SELECT m.new_id, r.organization_id, r.round_id, r.team_id
            FROM {response} r JOIN pulse_sealed_responses m ON m.old_id = r.id ORDER BY random()""",
        f"""INSERT INTO {answer} (id, organization_id, response_id, round_id, team_id, question_id, value)
            SELECT gen_random_uuid(), a.organization_id, m.new_id, a.round_id, a.team_id, a.question_id, a.value
            FROM {answer} a JOIN pulse_sealed_responses m ON m.old_id = a.response_id ORDER BY random()""",
        f"DELETE FROM {answer} a USING pulse_sealed_responses m WHERE a.response_id = m.old_id",
        f"DELETE FROM {response} r USING pulse_sealed_responses m WHERE r.id = m.old_id",
        f"""CREATE TEMPORARY TABLE pulse_sealed_comments ON COMMIT DROP AS
            SELECT id FROM {comment} WHERE organization_id = %(organization)s AND round_id = %(round)s""",
        f"""INSERT INTO {comment} (id, organization_id, round_id, team_id, text)
            SELECT gen_random_uuid(), organization_id, round_id, team_id, text FROM {comment}
            WHERE id IN (SELECT id FROM pulse_sealed_comments) ORDER BY random()""",
        f"DELETE FROM {comment} WHERE id IN (SELECT id FROM pulse_sealed_comments)",
        # Dropped now rather than at commit, so several rounds can be sealed in one transaction.
        "DROP TABLE pulse_sealed_responses, pulse_sealed_comments",
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)


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
