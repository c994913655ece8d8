"""The anonymity rules, as plain functions of counts (no database). `publishable` takes numbers
or numpy arrays alike, so the suppression and the auditor apply the very same formula.

See docs/privacy.md for the threat model and why each rule is enough.
"""

from __future__ import annotations

import numpy as np

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
        raise PulseError("The anonymity thresholds were never set.", code="k")
    if k < MIN_K:
        raise PulseError(f"The anonymity threshold cannot be below {MIN_K}.", code="k")
    if k_comments < k:
        raise PulseError("The comment threshold cannot be below the anonymity threshold.", code="k_comments")
    return k, k_comments


def remainder_is_safe(*, invited, contributors, threshold):
    """May a remainder of `invited` people with `contributors` contributors sit under a
    published node? Yes if it has at least `threshold` contributors, or nobody at all. Numbers
    or numpy arrays alike (the auditor checks every remainder of a round at once).

    Stops differencing: anyone can subtract the published children from a published parent;
    what is left must never be a group small enough to single someone out. "Nobody" is counted
    in invited people (not contributors) so that the decision never depends on whether one
    particular person answered (see the module docstring: the lone manager).
    """
    return (contributors >= threshold) | ((invited == 0) & (contributors == 0))


def publishable(*, atom_contributors, atom_bound, atom_invited, node_bound, node_invited, threshold):
    """May a node be published below its nearest published ancestor, judging only by what is
    public at that moment?

    The ancestor's remainder so far has `atom_contributors` contributors (exact: published
    figures minus published figures), at most `atom_bound` possible ones and `atom_invited`
    invited people; the node's subtree lies inside that remainder with at most `node_bound`
    possible contributors and `node_invited` invited people. Yes only if in EVERY world
    consistent with those facts the node reaches the threshold and the remainder it leaves is
    safe (`remainder_is_safe`):

        fewest = max(0, atom_contributors − (atom_bound − node_bound))   ≥ threshold, and
        atom_invited == node_invited (nobody left)  or  atom_contributors − min(node_bound,
        atom_contributors) ≥ threshold.

    Stops the suppression pattern from telling what the figures do not. A rule that looked at
    the node's own unpublished count would hide it exactly in the worlds where that count is
    small; anyone re-running the rule on every world consistent with the published figures
    would then rule out the others, and pin a count the figures leave open (a team "2 of 3
    answered", a manager "answered"). Decided on public facts only, every consistent world
    gives the same pattern, so the pattern adds nothing.
    """
    fewest = np.maximum(0, atom_contributors - (atom_bound - node_bound))
    most = np.minimum(node_bound, atom_contributors)
    return (fewest >= threshold) & ((atom_invited == node_invited) | (atom_contributors - most >= threshold))
