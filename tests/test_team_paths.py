"""Team path arithmetic has one home, `Team` (docs/architecture.md, "Where each rule lives"):
the services, the roster file and the demo build and take apart paths through it."""

from surveys.models import Team


def test_paths_are_built_and_taken_apart_by_the_team_model():
    assert Team.path_names("A/B/C") == ["A", "B", "C"]
    assert Team.path_of(["A", "B", "C"]) == "A/B/C"
    assert Team.child_path(None, "A") == "A"
    assert Team.child_path(Team(path="A/B"), "C") == "A/B/C"
    assert [Team.path_depth(path) for path in ("A", "A/B", "A/B/C")] == [0, 1, 2]
    assert Team.path_prefixes("A/B/C") == ["A", "A/B", "A/B/C"]
    assert (Team.parent_path("A/B/C"), Team.parent_path("A"), Team.name_of("A/B/C")) == ("A/B", "", "C")
    assert Team.path_within("A/B", "A") and Team.path_within("A", "A") and not Team.path_within("AB", "A")


def test_below_is_the_subtree_without_the_team_itself(tenant, other_tenant):
    with tenant.scope():
        below = set(Team.objects.filter(tenant.engineering.below_filter()))
        subtree = set(Team.objects.filter(tenant.engineering.subtree_filter()))
    assert below == {tenant.platform, tenant.product}
    assert subtree == below | {tenant.engineering}
