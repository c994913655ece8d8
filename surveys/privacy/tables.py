"""The two tables publication hands around: a round's raw counts per team (what aggregation
read) and the Result rows about to be written (what the auditor checks, then what is written).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LeafCounts:
    """A round's raw counts per team, as int64 arrays of rows.

    `histogram` rows are (team_id, question_id, value, answers); `respondents` rows are
    (team_id, respondents); `invited` rows are (team_id, invited), from the snapshot taken when
    the round opened (`RoundTeam`). Aggregation fetches them once and may hand them to the
    auditor.
    """

    histogram: np.ndarray
    respondents: np.ndarray
    invited: np.ndarray

    @classmethod
    def from_rows(cls, *, histogram, respondents, invited) -> LeafCounts:
        return cls(int_rows(histogram, 4), int_rows(respondents, 2), int_rows(invited, 2))


def int_rows(rows, width: int) -> np.ndarray:
    table = np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows, dtype=np.int64)
    return table.reshape(-1, width)


@dataclass(frozen=True)
class ResultTable:
    """The Result rows of one round, column by column: row r is the Result of `team_ids[r]`.

    Aggregation builds one, the auditor checks that very object, and only then is it written
    (the COPY payload and the ORM rows are both rendered from it, by `rows()` and its COPY twin,
    whose round trip the PostgreSQL tests pin). The standalone audit builds one from the stored
    rows instead.
    """

    team_ids: np.ndarray  # (M,)
    respondents: np.ndarray  # (M,): Result.n
    invited: np.ndarray  # (M,)
    comments_released: np.ndarray  # (M,) bool
    question_ids: np.ndarray  # (Q,): the round's questions
    item_published: np.ndarray  # (M, Q) bool
    item_counts: np.ndarray  # (M, Q, SCALE_POINTS), option 1 first; zero where not published
    covered_offsets: np.ndarray  # (M + 1,)
    covered_teams: np.ndarray  # row r covers covered_teams[covered_offsets[r] : covered_offsets[r + 1]]
    partial: np.ndarray  # (M,) bool: answers of hidden units below the node passed above it

    def __len__(self) -> int:
        return len(self.team_ids)

    @property
    def items_published(self) -> int:
        return int(self.item_published.sum())

    def rows(self) -> list[dict]:
        """Field values of each Result, as the ORM takes them."""
        question_keys = [str(q) for q in self.question_ids.tolist()]
        published, counts = self.item_published.tolist(), self.item_counts.tolist()
        offsets, covered = self.covered_offsets.tolist(), self.covered_teams.tolist()
        return [
            {
                "team_id": team_id,
                "n": n,
                "invited": invited,
                "items": {key: c for key, flag, c in zip(question_keys, published[r], counts[r], strict=True) if flag},
                "comments_released": released,
                "covered_teams": covered[offsets[r] : offsets[r + 1]],
                "partial": partial,
            }
            for r, (team_id, n, invited, released, partial) in enumerate(
                zip(
                    self.team_ids.tolist(),
                    self.respondents.tolist(),
                    self.invited.tolist(),
                    self.comments_released.tolist(),
                    self.partial.tolist(),
                    strict=True,
                )
            )
        ]
