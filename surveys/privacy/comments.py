"""Which comments a released team node shows."""

from __future__ import annotations

from collections.abc import Sequence

from surveys.models import Comment, Round


def released_comment_texts(*, round_: Round, covered_teams: Sequence[int]) -> list[str]:
    """The comments a released node shows: every comment of the teams frozen on its Result,
    text only, in the order of their random keys.

    Stops: dates or submission order tying a comment to the moment someone answered; a
    filter below the released node (a narrower list is a set difference, the attack the
    release rule guards against); a later team-tree edit changing a released list.
    """
    comments = Comment.objects.filter(round=round_, team_id__in=list(covered_teams))
    return list(comments.order_by("id").values_list("text", flat=True))
