"""The anonymity rules, as plain functions of counts (no database). They take numbers or numpy
arrays alike, so publication and the auditor apply the very same formula.

See docs/privacy.md for the threat model and why each rule is enough.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError

#: The floor no organisation may go below: results are shown for groups of at least MIN_K.
MIN_K = 3
DEFAULT_K = 5
#: Comments need a larger group: their wording can give their author away more easily.
DEFAULT_K_COMMENTS = 10
MAX_K = 50
MAX_K_COMMENTS = 100


def thresholds_check(*, k: int | None, k_comments: int | None) -> tuple[int, int]:
    """Refuse thresholds the product promises never to use: `k` below MIN_K, `k_comments`
    below `k`, or a threshold never set. Raises PulseError whose code names the field; returns
    the two thresholds once they pass.

    Stops: an organisation (or a round that locked its thresholds) publishing groups smaller
    than everyone was promised, and comments released for groups smaller than scores are.
    """
    if k is None or k_comments is None:
        raise PulseError(_("The anonymity thresholds were never set."), code="k")
    if k < MIN_K:
        raise PulseError(_("The anonymity threshold cannot be below %(least)s.") % {"least": MIN_K}, code="k")
    if k_comments < k:
        raise PulseError(_("The comment threshold cannot be below the anonymity threshold."), code="k_comments")
    return k, k_comments


def reaches_threshold(contributors, threshold):
    """May a group's figures be published on their own? Only with at least `threshold`
    contributors: a reporting unit shown on its own count, a rest added to a team's figure, an
    item counted within either, comments released (docs/privacy.md, "Publication").

    Stops: a figure of fewer than k people (or comments of fewer than k_comments), which would
    let someone who knows the others' answers, or a unanimous few, read one person's.
    """
    return contributors >= threshold


def remainder_is_safe(*, invited, contributors, threshold):
    """May a remainder of `invited` people with `contributors` contributors sit under a
    published node? Yes if it has at least `threshold` contributors, or nobody at all. A
    remainder is what a node's figure holds beyond the published figures below it. Numbers or
    numpy arrays alike (the auditor checks every remainder of a round at once).

    Stops differencing: anyone can subtract the published figures below from a published
    figure; what is left must never be a group small enough to single someone out. "Nobody" is
    counted in invited people (not contributors): a remainder of invited people none of whom
    answered would tell that each of them did not.
    """
    return (contributors >= threshold) | ((invited == 0) & (contributors == 0))
