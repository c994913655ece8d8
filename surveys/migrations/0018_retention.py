"""Retention (docs/operations.md, "Retention"): each organisation says how long a round's raw
answers, comments and participation flags are kept after publication, and a round records when
they were deleted (services.retention).

On PostgreSQL what was said lives in partitions per round (migration 0011); `pulse_said_purge`
drops a round's three partitions (and any of its rows left in the DEFAULT partition), for the
organisation in scope only, as the tables' owner (SECURITY DEFINER: the app's role may not drop
tables). Dropping costs the catalogue entries, not the rows, and leaves nothing to vacuum.
"""

import django.core.validators
from django.db import migrations, models


def functions_sql(schema: str) -> list[str]:
    settings = f"SET search_path = {schema}, pg_temp"
    return [
        f"""CREATE OR REPLACE FUNCTION pulse_said_purge(p_round bigint) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {settings} AS $$
        DECLARE
          v_organization bigint;
          t text;
        BEGIN
          SELECT organization_id INTO v_organization FROM surveys_round WHERE id = p_round;
          IF v_organization IS NULL THEN
            RAISE EXCEPTION 'pulse_said_purge: no round %', p_round;
          END IF;
          IF current_setting('pulse.organization', true) IS DISTINCT FROM v_organization::text
             AND current_setting('pulse.all_organizations', true) IS DISTINCT FROM 'on' THEN
            RAISE EXCEPTION 'pulse_said_purge: round % is not of the organisation in scope', p_round;
          END IF;
          FOREACH t IN ARRAY ARRAY['surveys_answer', 'surveys_comment', 'surveys_response'] LOOP
            EXECUTE format('DELETE FROM %I WHERE round_id = $1', t || '_default') USING p_round;
            IF to_regclass(t || '_r' || p_round) IS NOT NULL THEN
              EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t, t || '_r' || p_round);
              EXECUTE format('DROP TABLE %I', t || '_r' || p_round);
            END IF;
          END LOOP;
        END $$""",
    ]


def purge_function(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
        for statement in functions_sql(schema):
            cursor.execute(statement)


def purge_function_drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS pulse_said_purge(bigint)")


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0017_plan_reminders_roster_defaults"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="answers_kept_days",
            field=models.PositiveIntegerField(
                db_default=365,
                default=365,
                help_text="Then a round's raw answers, comments and who answered are deleted; its results stay.",
                validators=[
                    django.core.validators.MinValueValidator(30),
                    django.core.validators.MaxValueValidator(3650),
                ],
                verbose_name="keep answers and comments for (days after publication)",
            ),
        ),
        migrations.AddField(
            model_name="round",
            name="answers_purged_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When its raw answers, comments and who answered were deleted under the organisation's retention (services.retention); its published results stay.",
                null=True,
            ),
        ),
        migrations.RunPython(purge_function, purge_function_drop, elidable=False),
    ]
