"""What was said, partitioned by round (docs/decisions/2026-11-30-said-tables-partitioned-by-round.md).

Responses, Answers and Comments lose their foreign-key constraints and indexes (nothing reads
them by key: a round's rows are written by submissions and read once, by aggregation). On
PostgreSQL the three tables become partitioned by round: each round gets its own partition when
it is created (`pulse_said_partitions`, called by `Round.save`), and sealing writes a fresh,
shuffled copy of the round's partitions and swaps it in (`pulse_seal`, services.sealing), so
sealing costs what the round costs, whatever else the tables hold, and leaves no old row
version behind to vacuum. A DEFAULT partition keeps any row of a round without a partition of
its own; `pulse_said_partitions` moves such rows into one.

Both functions run as the tables' owner (SECURITY DEFINER): the app's role may neither create
tables nor own them (row-level security binds it only as a non-owner), and each new partition
gets the same row-level security policy as the tables (migration 0010). The functions name
the tables' columns: a migration that adds a column to them must replace the functions too.
Not reversible.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

SCOPED = importlib.import_module("surveys.migrations.0010_row_level_security").SCOPED
SAID = ("surveys_response", "surveys_answer", "surveys_comment")


def functions_sql(schema: str) -> list[str]:
    settings = f"SET search_path = {schema}, pg_temp"
    return [
        f"""CREATE OR REPLACE FUNCTION pulse_said_partition_secure(p_table text) RETURNS void
        LANGUAGE plpgsql {settings} AS $$
        BEGIN
          EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', p_table);
          EXECUTE format('CREATE POLICY pulse_tenant ON %I USING ({SCOPED.replace("'", "''")}) '
                         'WITH CHECK ({SCOPED.replace("'", "''")})', p_table);
        END $$""",
        "REVOKE ALL ON FUNCTION pulse_said_partition_secure(text) FROM PUBLIC",
        # A round's three partitions (rows of the round kept so far in the DEFAULT partition
        # move in). Creating a table and attaching it takes no lock that stops other rounds'
        # submissions.
        f"""CREATE OR REPLACE FUNCTION pulse_said_partitions(p_round bigint) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {settings} AS $$
        DECLARE
          t text;
          part text;
          moved bigint;
        BEGIN
          FOREACH t IN ARRAY ARRAY['surveys_response', 'surveys_answer', 'surveys_comment'] LOOP
            part := t || '_r' || p_round;
            CONTINUE WHEN to_regclass(part) IS NOT NULL;
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, t);
            EXECUTE format('INSERT INTO %I SELECT * FROM %I WHERE round_id = $1', part, t || '_default') USING p_round;
            GET DIAGNOSTICS moved = ROW_COUNT;
            IF moved > 0 THEN
              EXECUTE format('DELETE FROM %I WHERE round_id = $1', t || '_default') USING p_round;
            END IF;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%s)', t, part, p_round);
            PERFORM pulse_said_partition_secure(part);
          END LOOP;
        END $$""",
        # Sealing (services.sealing): the round's rows, copied under fresh random keys in a
        # random order into new tables, which then replace the round's partitions; the old
        # partitions are dropped with their files. Only for the organisation in scope.
        f"""CREATE OR REPLACE FUNCTION pulse_seal(p_round bigint) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {settings} AS $$
        DECLARE
          v_organization bigint;
          t text;
        BEGIN
          SELECT organization_id INTO v_organization FROM surveys_round WHERE id = p_round;
          IF v_organization IS NULL THEN
            RAISE EXCEPTION 'pulse_seal: no round %', p_round;
          END IF;
          IF current_setting('pulse.organization', true) IS DISTINCT FROM v_organization::text
             AND current_setting('pulse.all_organizations', true) IS DISTINCT FROM 'on' THEN
            RAISE EXCEPTION 'pulse_seal: round % is not of the organisation in scope', p_round;
          END IF;
          PERFORM pulse_said_partitions(p_round);
          EXECUTE format('CREATE TEMPORARY TABLE pulse_seal_keys ON COMMIT DROP AS '
                         'SELECT id AS old_id, gen_random_uuid() AS new_id FROM %I', 'surveys_response_r' || p_round);
          FOREACH t IN ARRAY ARRAY['surveys_response', 'surveys_answer', 'surveys_comment'] LOOP
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', t || '_s' || p_round, t);
          END LOOP;
          EXECUTE format('INSERT INTO %I (id, organization_id, round_id, team_id) '
                         'SELECT k.new_id, r.organization_id, r.round_id, r.team_id FROM %I r '
                         'JOIN pulse_seal_keys k ON k.old_id = r.id ORDER BY random()',
                         'surveys_response_s' || p_round, 'surveys_response_r' || p_round);
          EXECUTE format('INSERT INTO %I (id, organization_id, response_id, round_id, team_id, question_id, value) '
                         'SELECT gen_random_uuid(), a.organization_id, k.new_id, a.round_id, a.team_id, '
                         'a.question_id, a.value FROM %I a JOIN pulse_seal_keys k ON k.old_id = a.response_id '
                         'ORDER BY random()',
                         'surveys_answer_s' || p_round, 'surveys_answer_r' || p_round);
          EXECUTE format('INSERT INTO %I (id, organization_id, round_id, team_id, text) '
                         'SELECT gen_random_uuid(), organization_id, round_id, team_id, text FROM %I ORDER BY random()',
                         'surveys_comment_s' || p_round, 'surveys_comment_r' || p_round);
          DROP TABLE pulse_seal_keys;
          -- The swap, last: detaching takes the one lock that makes other rounds' submissions
          -- wait, for the few milliseconds until this transaction commits.
          FOREACH t IN ARRAY ARRAY['surveys_response', 'surveys_answer', 'surveys_comment'] LOOP
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (round_id IS NOT NULL AND round_id = %s)',
                           t || '_s' || p_round, t || '_s' || p_round || '_round', p_round);
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t, t || '_r' || p_round);
            EXECUTE format('DROP TABLE %I', t || '_r' || p_round);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%s)', t, t || '_s' || p_round, p_round);
            EXECUTE format('ALTER TABLE %I RENAME TO %I', t || '_s' || p_round, t || '_r' || p_round);
            PERFORM pulse_said_partition_secure(t || '_r' || p_round);
            EXECUTE format('ANALYZE %I', t || '_r' || p_round);
          END LOOP;
        END $$""",
    ]


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
        for statement in functions_sql(schema):
            cursor.execute(statement)
        for table in SAID:
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
            cursor.execute(
                f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
                "PARTITION BY LIST (round_id)"
            )
            cursor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"CREATE POLICY pulse_tenant ON {table} USING ({SCOPED}) WITH CHECK ({SCOPED})")
            cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
            cursor.execute("SELECT pulse_said_partition_secure(%s)", [f"{table}_default"])
        cursor.execute("SELECT pulse_said_partitions(id) FROM surveys_round ORDER BY id")
        for table in SAID:
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}_unpartitioned")
        cursor.execute("DROP TABLE " + ", ".join(f"{table}_unpartitioned" for table in SAID))


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0010_row_level_security"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="answer",
            name="answer_unique_question",
        ),
        migrations.RemoveIndex(
            model_name="answer",
            name="answer_histogram",
        ),
        migrations.RemoveIndex(
            model_name="comment",
            name="comment_org_round_team",
        ),
        migrations.RemoveIndex(
            model_name="response",
            name="response_org_round_team",
        ),
        migrations.AlterField(
            model_name="answer",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AlterField(
            model_name="answer",
            name="question",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="+",
                to="surveys.question",
            ),
        ),
        migrations.AlterField(
            model_name="answer",
            name="response",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="answers",
                to="surveys.response",
            ),
        ),
        migrations.AlterField(
            model_name="answer",
            name="round",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="surveys.round",
            ),
        ),
        migrations.AlterField(
            model_name="answer",
            name="team",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="+",
                to="surveys.team",
            ),
        ),
        migrations.AlterField(
            model_name="comment",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AlterField(
            model_name="comment",
            name="round",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="comments",
                to="surveys.round",
            ),
        ),
        migrations.AlterField(
            model_name="comment",
            name="team",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="+",
                to="surveys.team",
            ),
        ),
        migrations.AlterField(
            model_name="response",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="surveys.organization",
            ),
        ),
        migrations.AlterField(
            model_name="response",
            name="round",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="responses",
                to="surveys.round",
            ),
        ),
        migrations.AlterField(
            model_name="response",
            name="team",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="+",
                to="surveys.team",
            ),
        ),
        migrations.RunPython(partition, elidable=False),
    ]
