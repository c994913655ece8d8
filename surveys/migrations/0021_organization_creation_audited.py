"""An organisation's creation is audited under row-level security too.

Migration 0019's policy on the organisation's own events lets a session write an event only for
the organisation in scope (`pgh_obj_id`). The event of an organisation's creation is written by
the trigger on its new row, before anyone can have that organisation in scope (it did not exist),
so the check refused the insert, and with it the organisation. The check now also lets in a
`created` event; reading stays as it was: only the organisation in scope sees its events.
"""

import importlib

from django.db import migrations

row_level_security = importlib.import_module("surveys.migrations.0010_row_level_security")


def creation_allowed(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("surveys", "OrganizationEvent")._meta.db_table
    own = row_level_security.SCOPED.replace("organization_id", "pgh_obj_id")
    schema_editor.execute(f"ALTER POLICY pulse_tenant ON \"{table}\" WITH CHECK (({own}) OR pgh_label = 'created')")


def creation_refused(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("surveys", "OrganizationEvent")._meta.db_table
    own = row_level_security.SCOPED.replace("organization_id", "pgh_obj_id")
    schema_editor.execute(f'ALTER POLICY pulse_tenant ON "{table}" WITH CHECK ({own})')


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0020_said_partitions_without_default"),
    ]

    operations = [migrations.RunPython(creation_allowed, creation_refused, elidable=False)]
