"""The audit log (surveys/models/audit.py, docs/operations.md "Audit log"): an event table per
audited table, filled by django-pghistory's triggers on PostgreSQL (the AddTrigger operations;
on SQLite they do nothing and Django's signals write the same events).

Every event table gets the row-level security policy every tenant table has (migration 0010):
on `organization_id`, and for the organisation's own events on the organisation they are of
(`pgh_obj_id`). The triggers run as the role that wrote the audited row, whose scope the
policy's check then sees, so an event is always written in the organisation of its row.
"""

import importlib

import django.db.models.deletion
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

row_level_security = importlib.import_module("surveys.migrations.0010_row_level_security")
EVENT_MODELS = (
    "ActionPlanEvent",
    "ApiKeyEvent",
    "MembershipEvent",
    "RosterImportEvent",
    "RoundEvent",
    "SurveyEvent",
    "SurveyQuestionEvent",
    "TeamEvent",
    "TeamManagementEvent",
)


def policies(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    scoped = row_level_security.SCOPED
    own = scoped.replace("organization_id", "pgh_obj_id")
    tables = [(apps.get_model("surveys", name)._meta.db_table, scoped) for name in EVENT_MODELS]
    tables.append((apps.get_model("surveys", "OrganizationEvent")._meta.db_table, own))
    with schema_editor.connection.cursor() as cursor:
        for table, condition in tables:
            cursor.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            cursor.execute(f'CREATE POLICY pulse_tenant ON "{table}" USING ({condition}) WITH CHECK ({condition})')


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0018_retention"),
    ]

    operations = [
        migrations.CreateModel(
            name="ActionPlanEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("title", models.CharField(max_length=200)),
                ("description", models.TextField()),
                ("status", models.CharField(max_length=20)),
                ("due_on", models.DateField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name="ApiKeyEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("name", models.CharField(max_length=50)),
                ("prefix", models.CharField(max_length=8)),
                ("scope", models.CharField(max_length=10)),
                ("expiry_date", models.DateTimeField(null=True)),
                ("revoked", models.BooleanField()),
            ],
        ),
        migrations.CreateModel(
            name="MembershipEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("role", models.CharField(max_length=20)),
                ("is_active", models.BooleanField()),
            ],
        ),
        migrations.CreateModel(
            name="OrganizationEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("name", models.CharField(max_length=200)),
                ("slug", models.SlugField(db_index=False, max_length=60)),
                ("k", models.PositiveSmallIntegerField()),
                ("k_comments", models.PositiveSmallIntegerField()),
                ("support_text", models.TextField()),
                ("support_links", models.TextField()),
                ("answers_kept_days", models.PositiveIntegerField()),
                ("is_active", models.BooleanField()),
            ],
        ),
        migrations.CreateModel(
            name="RosterImportEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("filename", models.CharField(max_length=255)),
                ("mode", models.CharField(max_length=10)),
                ("status", models.CharField(max_length=20)),
            ],
        ),
        migrations.CreateModel(
            name="RoundEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("number", models.PositiveIntegerField()),
                ("status", models.CharField(max_length=20)),
                ("opens_at", models.DateTimeField()),
                ("closes_at", models.DateTimeField()),
                ("k", models.PositiveSmallIntegerField(null=True)),
                ("k_comments", models.PositiveSmallIntegerField(null=True)),
                ("answers_purged_at", models.DateTimeField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name="SurveyEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("name", models.CharField(max_length=200)),
                ("cadence", models.CharField(max_length=20)),
                ("open_days", models.PositiveSmallIntegerField()),
                ("starts_on", models.DateField()),
                ("comments_enabled", models.BooleanField()),
                ("support_text", models.TextField()),
                ("support_links", models.TextField()),
                ("is_active", models.BooleanField()),
            ],
        ),
        migrations.CreateModel(
            name="SurveyQuestionEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("position", models.PositiveSmallIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="TeamEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
                ("name", models.CharField(max_length=120)),
                ("path", models.CharField(max_length=600)),
            ],
        ),
        migrations.CreateModel(
            name="TeamManagementEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("pgh_context", pghistory.utils.JSONField(null=True)),
                ("pgh_context_id", models.UUIDField(null=True)),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="actionplan",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_actionplanevent" ("description", "due_on", "organization_id", "owner_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "round_id", "status", "team_id", "title") VALUES (NEW."description", NEW."due_on", NEW."organization_id", NEW."owner_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."round_id", NEW."status", NEW."team_id", NEW."title"); RETURN NULL;',
                    hash="51e2f4b81ea668a392fcd3e71c4e0baf6167f494",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_01d3f",
                    table="surveys_actionplan",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="actionplan",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."description" IS DISTINCT FROM (NEW."description") OR OLD."due_on" IS DISTINCT FROM (NEW."due_on") OR OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."owner_id" IS DISTINCT FROM (NEW."owner_id") OR OLD."round_id" IS DISTINCT FROM (NEW."round_id") OR OLD."status" IS DISTINCT FROM (NEW."status") OR OLD."team_id" IS DISTINCT FROM (NEW."team_id") OR OLD."title" IS DISTINCT FROM (NEW."title"))',
                    func='INSERT INTO "surveys_actionplanevent" ("description", "due_on", "organization_id", "owner_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "round_id", "status", "team_id", "title") VALUES (NEW."description", NEW."due_on", NEW."organization_id", NEW."owner_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."round_id", NEW."status", NEW."team_id", NEW."title"); RETURN NULL;',
                    hash="8ed0a5cac0f3c5468c3c0e49ed9775fb452bd984",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_874d6",
                    table="surveys_actionplan",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="actionplan",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_actionplanevent" ("description", "due_on", "organization_id", "owner_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "round_id", "status", "team_id", "title") VALUES (OLD."description", OLD."due_on", OLD."organization_id", OLD."owner_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."round_id", OLD."status", OLD."team_id", OLD."title"); RETURN NULL;',
                    hash="2574f918e6427a2fdd8d8e181d8b626710ed91ed",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_1270b",
                    table="surveys_actionplan",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="apikey",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_apikeyevent" ("created_by_id", "expiry_date", "name", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "prefix", "revoked", "scope") VALUES (NEW."created_by_id", NEW."expiry_date", NEW."name", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."prefix", NEW."revoked", NEW."scope"); RETURN NULL;',
                    hash="5a25ead196a808950641be33ff7b6d6a56684aa8",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_aefb4",
                    table="surveys_apikey",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="apikey",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."created_by_id" IS DISTINCT FROM (NEW."created_by_id") OR OLD."expiry_date" IS DISTINCT FROM (NEW."expiry_date") OR OLD."name" IS DISTINCT FROM (NEW."name") OR OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."prefix" IS DISTINCT FROM (NEW."prefix") OR OLD."revoked" IS DISTINCT FROM (NEW."revoked") OR OLD."scope" IS DISTINCT FROM (NEW."scope"))',
                    func='INSERT INTO "surveys_apikeyevent" ("created_by_id", "expiry_date", "name", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "prefix", "revoked", "scope") VALUES (NEW."created_by_id", NEW."expiry_date", NEW."name", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."prefix", NEW."revoked", NEW."scope"); RETURN NULL;',
                    hash="29acfb6728ec01e35c134a465ad72673403d901c",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_0131a",
                    table="surveys_apikey",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="apikey",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_apikeyevent" ("created_by_id", "expiry_date", "name", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "prefix", "revoked", "scope") VALUES (OLD."created_by_id", OLD."expiry_date", OLD."name", OLD."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."prefix", OLD."revoked", OLD."scope"); RETURN NULL;',
                    hash="479ab63d8fdde9cc1774bb6ad3dfbff253cd4f01",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_f43b4",
                    table="surveys_apikey",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="membership",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_membershipevent" ("is_active", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "team_id", "user_id") VALUES (NEW."is_active", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."role", NEW."team_id", NEW."user_id"); RETURN NULL;',
                    hash="c504fd491089d8f9c4fdeaa81872f89383620c4c",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_7c896",
                    table="surveys_membership",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="membership",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."is_active" IS DISTINCT FROM (NEW."is_active") OR OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."role" IS DISTINCT FROM (NEW."role") OR OLD."team_id" IS DISTINCT FROM (NEW."team_id") OR OLD."user_id" IS DISTINCT FROM (NEW."user_id"))',
                    func='INSERT INTO "surveys_membershipevent" ("is_active", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "team_id", "user_id") VALUES (NEW."is_active", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."role", NEW."team_id", NEW."user_id"); RETURN NULL;',
                    hash="1f8f472a79a7fd582a579dde466e73fa6e4032de",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_3b059",
                    table="surveys_membership",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="membership",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_membershipevent" ("is_active", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "role", "team_id", "user_id") VALUES (OLD."is_active", OLD."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."role", OLD."team_id", OLD."user_id"); RETURN NULL;',
                    hash="7e5f7541bbac91217646c1a30e408de6dd91f497",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_11982",
                    table="surveys_membership",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="organization",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_organizationevent" ("answers_kept_days", "is_active", "k", "k_comments", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "slug", "support_links", "support_text") VALUES (NEW."answers_kept_days", NEW."is_active", NEW."k", NEW."k_comments", NEW."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."slug", NEW."support_links", NEW."support_text"); RETURN NULL;',
                    hash="ea6c2ee545fcd7dab28d54413da70d1f18416c04",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_55114",
                    table="surveys_organization",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="organization",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."answers_kept_days" IS DISTINCT FROM (NEW."answers_kept_days") OR OLD."is_active" IS DISTINCT FROM (NEW."is_active") OR OLD."k" IS DISTINCT FROM (NEW."k") OR OLD."k_comments" IS DISTINCT FROM (NEW."k_comments") OR OLD."name" IS DISTINCT FROM (NEW."name") OR OLD."slug" IS DISTINCT FROM (NEW."slug") OR OLD."support_links" IS DISTINCT FROM (NEW."support_links") OR OLD."support_text" IS DISTINCT FROM (NEW."support_text"))',
                    func='INSERT INTO "surveys_organizationevent" ("answers_kept_days", "is_active", "k", "k_comments", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "slug", "support_links", "support_text") VALUES (NEW."answers_kept_days", NEW."is_active", NEW."k", NEW."k_comments", NEW."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."slug", NEW."support_links", NEW."support_text"); RETURN NULL;',
                    hash="c57762b1c8ab3816602960e6c13435218da7b362",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_e576c",
                    table="surveys_organization",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="organization",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_organizationevent" ("answers_kept_days", "is_active", "k", "k_comments", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "slug", "support_links", "support_text") VALUES (OLD."answers_kept_days", OLD."is_active", OLD."k", OLD."k_comments", OLD."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."slug", OLD."support_links", OLD."support_text"); RETURN NULL;',
                    hash="f1e2898afbff86542fd75a1d058fa3be5b01066a",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_5c9d8",
                    table="surveys_organization",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="rosterimport",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_rosterimportevent" ("confirmed_by_id", "filename", "mode", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "status", "uploaded_by_id") VALUES (NEW."confirmed_by_id", NEW."filename", NEW."mode", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."status", NEW."uploaded_by_id"); RETURN NULL;',
                    hash="eda15495be10f4a93cb4ae40f7c26b75e8206b9f",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_11585",
                    table="surveys_rosterimport",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="rosterimport",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."confirmed_by_id" IS DISTINCT FROM (NEW."confirmed_by_id") OR OLD."filename" IS DISTINCT FROM (NEW."filename") OR OLD."mode" IS DISTINCT FROM (NEW."mode") OR OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."status" IS DISTINCT FROM (NEW."status") OR OLD."uploaded_by_id" IS DISTINCT FROM (NEW."uploaded_by_id"))',
                    func='INSERT INTO "surveys_rosterimportevent" ("confirmed_by_id", "filename", "mode", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "status", "uploaded_by_id") VALUES (NEW."confirmed_by_id", NEW."filename", NEW."mode", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."status", NEW."uploaded_by_id"); RETURN NULL;',
                    hash="51d17d211b17b1012315dda76b81abbbe71c8919",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_c3327",
                    table="surveys_rosterimport",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="rosterimport",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_rosterimportevent" ("confirmed_by_id", "filename", "mode", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "status", "uploaded_by_id") VALUES (OLD."confirmed_by_id", OLD."filename", OLD."mode", OLD."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."status", OLD."uploaded_by_id"); RETURN NULL;',
                    hash="57f24d99e5f4ad17637946a85d14356e8bc61047",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_113a7",
                    table="surveys_rosterimport",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="round",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_roundevent" ("answers_purged_at", "closes_at", "k", "k_comments", "number", "opens_at", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "status", "survey_id") VALUES (NEW."answers_purged_at", NEW."closes_at", NEW."k", NEW."k_comments", NEW."number", NEW."opens_at", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."status", NEW."survey_id"); RETURN NULL;',
                    hash="90cfb8cb33d5ebb44ae7b62f616a342e261e6e0c",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_a0bd2",
                    table="surveys_round",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="round",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."answers_purged_at" IS DISTINCT FROM (NEW."answers_purged_at") OR OLD."closes_at" IS DISTINCT FROM (NEW."closes_at") OR OLD."k" IS DISTINCT FROM (NEW."k") OR OLD."k_comments" IS DISTINCT FROM (NEW."k_comments") OR OLD."number" IS DISTINCT FROM (NEW."number") OR OLD."opens_at" IS DISTINCT FROM (NEW."opens_at") OR OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."status" IS DISTINCT FROM (NEW."status") OR OLD."survey_id" IS DISTINCT FROM (NEW."survey_id"))',
                    func='INSERT INTO "surveys_roundevent" ("answers_purged_at", "closes_at", "k", "k_comments", "number", "opens_at", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "status", "survey_id") VALUES (NEW."answers_purged_at", NEW."closes_at", NEW."k", NEW."k_comments", NEW."number", NEW."opens_at", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."status", NEW."survey_id"); RETURN NULL;',
                    hash="2957f0b506066f78ed7c7b1c625d242635b88f98",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_e49cd",
                    table="surveys_round",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="round",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_roundevent" ("answers_purged_at", "closes_at", "k", "k_comments", "number", "opens_at", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "status", "survey_id") VALUES (OLD."answers_purged_at", OLD."closes_at", OLD."k", OLD."k_comments", OLD."number", OLD."opens_at", OLD."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."status", OLD."survey_id"); RETURN NULL;',
                    hash="3357766764985994fc82e03b175f54750c40e29f",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_c6e00",
                    table="surveys_round",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="survey",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_surveyevent" ("cadence", "comments_enabled", "is_active", "name", "open_days", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "root_team_id", "starts_on", "support_links", "support_text") VALUES (NEW."cadence", NEW."comments_enabled", NEW."is_active", NEW."name", NEW."open_days", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."root_team_id", NEW."starts_on", NEW."support_links", NEW."support_text"); RETURN NULL;',
                    hash="8df508236195f97719a4a6ade4349ae8fd6004a3",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_7d792",
                    table="surveys_survey",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="survey",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."cadence" IS DISTINCT FROM (NEW."cadence") OR OLD."comments_enabled" IS DISTINCT FROM (NEW."comments_enabled") OR OLD."is_active" IS DISTINCT FROM (NEW."is_active") OR OLD."name" IS DISTINCT FROM (NEW."name") OR OLD."open_days" IS DISTINCT FROM (NEW."open_days") OR OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."root_team_id" IS DISTINCT FROM (NEW."root_team_id") OR OLD."starts_on" IS DISTINCT FROM (NEW."starts_on") OR OLD."support_links" IS DISTINCT FROM (NEW."support_links") OR OLD."support_text" IS DISTINCT FROM (NEW."support_text"))',
                    func='INSERT INTO "surveys_surveyevent" ("cadence", "comments_enabled", "is_active", "name", "open_days", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "root_team_id", "starts_on", "support_links", "support_text") VALUES (NEW."cadence", NEW."comments_enabled", NEW."is_active", NEW."name", NEW."open_days", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."root_team_id", NEW."starts_on", NEW."support_links", NEW."support_text"); RETURN NULL;',
                    hash="cd2b05e3471212554d3eb7b4f62b7083fc5c1d3f",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_4e5f0",
                    table="surveys_survey",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="survey",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_surveyevent" ("cadence", "comments_enabled", "is_active", "name", "open_days", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "root_team_id", "starts_on", "support_links", "support_text") VALUES (OLD."cadence", OLD."comments_enabled", OLD."is_active", OLD."name", OLD."open_days", OLD."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."root_team_id", OLD."starts_on", OLD."support_links", OLD."support_text"); RETURN NULL;',
                    hash="d5f412d91402f2c33488afb73377f81bb9775970",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_9e952",
                    table="surveys_survey",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="surveyquestion",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_surveyquestionevent" ("organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "question_id", "survey_id") VALUES (NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."position", NEW."question_id", NEW."survey_id"); RETURN NULL;',
                    hash="4cc8da4730a74717e8a37cf0414c5375bda3020a",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_e504e",
                    table="surveys_surveyquestion",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="surveyquestion",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."position" IS DISTINCT FROM (NEW."position") OR OLD."question_id" IS DISTINCT FROM (NEW."question_id") OR OLD."survey_id" IS DISTINCT FROM (NEW."survey_id"))',
                    func='INSERT INTO "surveys_surveyquestionevent" ("organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "question_id", "survey_id") VALUES (NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."position", NEW."question_id", NEW."survey_id"); RETURN NULL;',
                    hash="cbba9aca9542fa8594bbd3a3dfad32d2bd519486",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_c36e8",
                    table="surveys_surveyquestion",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="surveyquestion",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_surveyquestionevent" ("organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "position", "question_id", "survey_id") VALUES (OLD."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."position", OLD."question_id", OLD."survey_id"); RETURN NULL;',
                    hash="f6ab4b4c462e540611abc8be31749f332e1c536b",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_7d8ff",
                    table="surveys_surveyquestion",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="team",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_teamevent" ("name", "organization_id", "parent_id", "path", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (NEW."name", NEW."organization_id", NEW."parent_id", NEW."path", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id"); RETURN NULL;',
                    hash="bf1643fbfc9342fb67298c5e5f84c89e46d2a473",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_21ee1",
                    table="surveys_team",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="team",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."name" IS DISTINCT FROM (NEW."name") OR OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."parent_id" IS DISTINCT FROM (NEW."parent_id") OR OLD."path" IS DISTINCT FROM (NEW."path"))',
                    func='INSERT INTO "surveys_teamevent" ("name", "organization_id", "parent_id", "path", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (NEW."name", NEW."organization_id", NEW."parent_id", NEW."path", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id"); RETURN NULL;',
                    hash="786a9bb12599f6d8e41270a982932cb067b5e835",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_2f7be",
                    table="surveys_team",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="team",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_teamevent" ("name", "organization_id", "parent_id", "path", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id") VALUES (OLD."name", OLD."organization_id", OLD."parent_id", OLD."path", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id"); RETURN NULL;',
                    hash="d03cbf9c197943bd016320a64ea9ca4efa487a05",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_58514",
                    table="surveys_team",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="teammanagement",
            trigger=pgtrigger.compiler.Trigger(
                name="created_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_teammanagementevent" ("membership_id", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "team_id") VALUES (NEW."membership_id", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'created\', NEW."id", NEW."team_id"); RETURN NULL;',
                    hash="7331edfa6628ba4acd7578d670c2219a2f6af76f",
                    operation="INSERT",
                    pgid="pgtrigger_created_insert_d6563",
                    table="surveys_teammanagement",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="teammanagement",
            trigger=pgtrigger.compiler.Trigger(
                name="changed_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."membership_id" IS DISTINCT FROM (NEW."membership_id") OR OLD."organization_id" IS DISTINCT FROM (NEW."organization_id") OR OLD."team_id" IS DISTINCT FROM (NEW."team_id"))',
                    func='INSERT INTO "surveys_teammanagementevent" ("membership_id", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "team_id") VALUES (NEW."membership_id", NEW."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'changed\', NEW."id", NEW."team_id"); RETURN NULL;',
                    hash="81fc83953089ee668d9618ab78442f5f8a907701",
                    operation="UPDATE",
                    pgid="pgtrigger_changed_update_cc054",
                    table="surveys_teammanagement",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="teammanagement",
            trigger=pgtrigger.compiler.Trigger(
                name="deleted_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "surveys_teammanagementevent" ("membership_id", "organization_id", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "team_id") VALUES (OLD."membership_id", OLD."organization_id", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, clock_timestamp(), \'deleted\', OLD."id", OLD."team_id"); RETURN NULL;',
                    hash="eac5593ba9b1999c7146b209b79f20c6c33e6b31",
                    operation="DELETE",
                    pgid="pgtrigger_deleted_delete_11449",
                    table="surveys_teammanagement",
                    when="AFTER",
                ),
            ),
        ),
        migrations.AddField(
            model_name="actionplanevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="actionplanevent",
            name="owner",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.membership",
            ),
        ),
        migrations.AddField(
            model_name="actionplanevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.actionplan",
            ),
        ),
        migrations.AddField(
            model_name="actionplanevent",
            name="round",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.round",
            ),
        ),
        migrations.AddField(
            model_name="actionplanevent",
            name="team",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.team",
            ),
        ),
        migrations.AddField(
            model_name="apikeyevent",
            name="created_by",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.membership",
            ),
        ),
        migrations.AddField(
            model_name="apikeyevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="apikeyevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.apikey",
            ),
        ),
        migrations.AddField(
            model_name="membershipevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="membershipevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.membership",
            ),
        ),
        migrations.AddField(
            model_name="membershipevent",
            name="team",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.team",
            ),
        ),
        migrations.AddField(
            model_name="membershipevent",
            name="user",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="organizationevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="rosterimportevent",
            name="confirmed_by",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.membership",
            ),
        ),
        migrations.AddField(
            model_name="rosterimportevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="rosterimportevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.rosterimport",
            ),
        ),
        migrations.AddField(
            model_name="rosterimportevent",
            name="uploaded_by",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.membership",
            ),
        ),
        migrations.AddField(
            model_name="roundevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="roundevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.round",
            ),
        ),
        migrations.AddField(
            model_name="roundevent",
            name="survey",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.survey",
            ),
        ),
        migrations.AddField(
            model_name="surveyevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="surveyevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.survey",
            ),
        ),
        migrations.AddField(
            model_name="surveyevent",
            name="root_team",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.team",
            ),
        ),
        migrations.AddField(
            model_name="surveyquestionevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="surveyquestionevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.surveyquestion",
            ),
        ),
        migrations.AddField(
            model_name="surveyquestionevent",
            name="question",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.question",
            ),
        ),
        migrations.AddField(
            model_name="surveyquestionevent",
            name="survey",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.survey",
            ),
        ),
        migrations.AddField(
            model_name="teamevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="teamevent",
            name="parent",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.team",
            ),
        ),
        migrations.AddField(
            model_name="teamevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="surveys.team"
            ),
        ),
        migrations.AddField(
            model_name="teammanagementevent",
            name="membership",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.membership",
            ),
        ),
        migrations.AddField(
            model_name="teammanagementevent",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AddField(
            model_name="teammanagementevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="surveys.teammanagement",
            ),
        ),
        migrations.AddField(
            model_name="teammanagementevent",
            name="team",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="surveys.team",
            ),
        ),
        migrations.AddIndex(
            model_name="actionplanevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="actionplanevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="apikeyevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="apikeyevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="membershipevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="membershipevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="organizationevent",
            index=models.Index(fields=["pgh_obj", "pgh_created_at"], name="organizationevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="rosterimportevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="rosterimportevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="roundevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="roundevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="surveyevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="surveyevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="surveyquestionevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="surveyquestionevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="teamevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="teamevent_org_at"),
        ),
        migrations.AddIndex(
            model_name="teammanagementevent",
            index=models.Index(fields=["organization", "pgh_created_at"], name="teammanagementevent_org_at"),
        ),
        migrations.RunPython(policies, migrations.RunPython.noop, elidable=False),
    ]
