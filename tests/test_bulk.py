"""Set-based writes and the `any_of` lookup (`surveys.core.bulk`), on SQLite and on PostgreSQL."""

import datetime as dt

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.utils import timezone

from surveys.core.bulk import IN_LIST, bulk_insert, bulk_update, chunks
from surveys.models import Membership, Team, User


def test_bulk_insert_writes_rows_with_their_constants_and_returns_what_is_asked(tenant):
    joined = timezone.now() - dt.timedelta(days=3)
    rows = [(f"p{n}@bulk.test", f"Person {n}", UNUSABLE_PASSWORD_PREFIX + "x") for n in range(3)]
    with transaction.atomic():
        created = dict(
            bulk_insert(
                User,
                ["email", "name", "password"],
                rows,
                constants={"is_active": False, "is_staff": False, "is_superuser": False, "date_joined": joined},
                returning=["email", "id"],
            )
        )
    assert set(created) == {"p0@bulk.test", "p1@bulk.test", "p2@bulk.test"}
    user = User.objects.get(pk=created["p1@bulk.test"])
    assert (user.name, user.is_active, user.date_joined, user.has_usable_password()) == (
        "Person 1",
        False,
        joined,
        False,
    )
    assert bulk_insert(User, ["email"], []) == []


def test_bulk_update_sets_each_row_its_own_values_and_nothing_else(tenant):
    with tenant.scope(), transaction.atomic():
        bulk_update(
            Membership,
            ["id", "team_id", "is_active"],
            [(tenant.employee.pk, tenant.product.pk, False), (tenant.manager.pk, tenant.root.pk, True)],
        )
    tenant.employee.refresh_from_db()
    tenant.manager.refresh_from_db()
    tenant.hr.refresh_from_db()
    assert (tenant.employee.team_id, tenant.employee.is_active) == (tenant.product.pk, False)
    assert (tenant.manager.team_id, tenant.manager.is_active) == (tenant.root.pk, True)
    assert tenant.hr.team_id == tenant.root.pk and tenant.hr.is_active


def test_any_of_finds_the_rows_of_many_values_in_as_few_queries_as_the_database_allows(tenant):
    wanted = [tenant.platform.pk, tenant.product.pk, *range(10**9, 10**9 + 2 * IN_LIST)]
    with tenant.scope():
        found = [
            pk for chunk in chunks(wanted) for pk in Team.objects.filter(pk__any_of=chunk).values_list("pk", flat=True)
        ]
        assert sorted(found) == sorted([tenant.platform.pk, tenant.product.pk])
        assert not Team.objects.filter(pk__any_of=[]).exists()
        emails = Membership.objects.filter(user__email__any_of=["hr@acme.test", "nobody@acme.test"])
        assert list(emails.values_list("pk", flat=True)) == [tenant.hr.pk]
