"""Every small organisation, every world: the publication rule keeps both promises.

docs/privacy.md, "Publication": (1) nothing published isolates the answers of fewer than k
people; (2) for every invited person, what is published is consistent both with their having
answered and with their not having answered, unless they belong to a group of at least k whose
count is known and in which everyone answered.

Enumerated by brute force, independently of the proof: every ordered tree of up to four teams
with up to nine invited people, and of up to three teams with up to twelve (leaf teams never
empty; `make test-slow` adds every tree of five teams with up to nine), every k from 3 to 5
(comments at k + 1), and every world: how many people of each team answered and how many of
them answered the round's one item (the rest skipped it). The worlds of organisations sharing
a tree and units go through the production rule (`publication_plans`) together. Then, as an
attacker who knows the rule:

- **isolation**: every team set whose figures follow from published ones (the 0/1 vectors in
  the span of the published groups, per measure) holds 0 or at least the threshold of
  contributors, in every world;
- **certainty**: group the worlds by everything published (figures, which groups are shown,
  added and passing, item and comment decisions); a team whose respondent count is the same
  extreme (all or none) across its group pins its people's participation. "None" never may;
  "all" only inside a known group of at least k that all answered.

The attacker is tests/support/brute_force.py. The search is shown to see a leak when there is
one (lone leads counted on their own; groups one short of k shown), and the auditor's
independent reading of the rule agrees with the product in every world.
"""

from __future__ import annotations

import numpy as np
import pytest

from surveys.privacy.publication import publication_plans
from tests.support.brute_force import THRESHOLDS, attack_organisation, no_leak, search_all

#: (most teams, most people) of the organisations `make test` searches, each family beyond the last.
EVERYDAY = ((4, 9), (3, 12))
#: What `make test-slow` (CI) adds: every tree of five teams, up to nine people.
SLOW = ((5, 9),)


@pytest.fixture(scope="module")
def search() -> dict[str, int]:
    return search_all(EVERYDAY)


def test_the_search_covers_every_small_organisation(search):
    # Trees of up to four teams with up to nine people, then of up to three with ten to twelve,
    # leaf teams never empty (counts worked out separately), for each threshold.
    assert search["organisations"] == (2_034 + 401) * len(THRESHOLDS)
    assert search["worlds"] > 4_000_000


def test_nothing_published_isolates_fewer_than_k(search):
    assert search["isolations"] == 0


def test_nobody_is_certainly_absent(search):
    assert search["certain non-participation"] == 0


def test_nobody_is_certainly_present_outside_a_known_group_that_all_answered(search):
    assert search["certain participation outside a known all-answered group"] == 0


def test_the_auditor_reads_the_rule_the_same_way_in_every_world(search):
    assert search["disagreements with the auditor"] == 0


@pytest.mark.slow
def test_every_organisation_of_five_teams_too():
    found = search_all(SLOW)
    assert found["organisations"] == 11_097 * len(THRESHOLDS)  # every tree of up to five teams
    no_leak(found)


def _alone(*, parent, invited, k):
    """Every team its own unit, however small: a rule the search must catch."""
    return np.where(np.asarray(invited) > 0, np.arange(len(parent)), -1)


def test_the_search_finds_a_lone_lead_counted_alone():
    """Units of fewer than k (a lead alone above their teams, counted on their own): the
    search sees whose participation that pins."""

    found = search_all(((3, 9),), units=_alone)
    assert found["certain participation outside a known all-answered group"] > 100


def test_the_search_finds_groups_below_k():
    """A rule that shows groups of k − 1 (asked for k): the search sees the isolations."""

    def one_short(**arguments):
        return publication_plans(**{**arguments, "k": arguments["k"] - 1})

    found = search_all(((3, 9),), plan=one_short, thresholds=(4, 5))
    assert found["isolations"] > 1_000


def test_the_search_keeps_apart_what_six_teams_and_large_figures_publish():
    """A round's frozen tree may have six teams (team sets past five bits) and figures past 31.
    This six-team tree from the property test of rounds is clean, yet a search that packed
    five bits apiece merged worlds whose shown units differed and reported a certainty; the
    same tree with lone units still shows the certainties they cause."""
    parent, invited = (-1, 0, 1, 1, 0, 0), (1, 0, 5, 1, 3, 5)
    no_leak(attack_organisation(parent, invited, 3))
    no_leak(attack_organisation((-1, 0), (30, 6), 5))

    found = attack_organisation(parent, invited, 3, units=_alone)
    assert found["certain participation outside a known all-answered group"] > 0
