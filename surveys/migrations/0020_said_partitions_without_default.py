"""No tenant waits on another for what was said (docs/decisions/2026-12-07-no-tenant-waits-on-another.md).

Migration 0011 gave Responses, Answers and Comments a DEFAULT partition and sealed a round by
detaching its partitions and attaching fresh ones. Both take locks that cross tenants:
attaching a partition locks the DEFAULT partition ACCESS EXCLUSIVE (every organisation's
statements that reach it queue behind it, and it waits for every transaction that touched
it), and detaching locks the whole table ACCESS EXCLUSIVE. So one organisation's round waited
minutes behind another's long transaction, and everyone queued behind that wait.

Here the DEFAULT partitions go (a round's rows kept there first move into the round's own
partitions), so attaching a round's partitions takes only SHARE UPDATE EXCLUSIVE on the parent,
which no read or write conflicts with, and `said_partitions_create` attaches them in a
transaction of their own. Sealing no longer swaps partitions: it copies the round's rows,
shuffled under fresh keys, into temporary tables, empties the round's own partitions with
TRUNCATE (new files; the old ones are dropped at commit, so no old row version stays for a
VACUUM) and writes the copy back. It locks only the round's own partitions.

The functions name the tables' columns, as 0011's did. Not reversible.
"""

from django.db import migrations

SAID = ("surveys_response", "surveys_answer", "surveys_comment")


def functions_sql(schema: str) -> list[str]:
    settings = f"SET search_path = {schema}, pg_temp"
    return [
        f"""CREATE OR REPLACE FUNCTION pulse_said_partitions(p_round bigint) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {settings} AS $$
        DECLARE
          t text;
          part text;
        BEGIN
          FOREACH t IN ARRAY ARRAY['surveys_response', 'surveys_answer', 'surveys_comment'] LOOP
            part := t || '_r' || p_round;
            CONTINUE WHEN to_regclass(part) IS NOT NULL;
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, t);
            -- The bound as a constraint: attaching then checks no row.
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (round_id IS NOT NULL AND round_id = %s)',
                           part, part || '_round', p_round);
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%s)', t, part, p_round);
            PERFORM pulse_said_partition_secure(part);
          END LOOP;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION pulse_seal(p_round bigint) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER {settings} AS $$
        DECLARE
          v_organization bigint;
          r text := 'surveys_response_r' || p_round;
          a text := 'surveys_answer_r' || p_round;
          c text := 'surveys_comment_r' || p_round;
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
                         'SELECT id AS old_id, gen_random_uuid() AS new_id FROM %I', r);
          EXECUTE format('CREATE TEMPORARY TABLE pulse_seal_response ON COMMIT DROP AS '
                         'SELECT k.new_id AS id, x.organization_id, x.round_id, x.team_id FROM %I x '
                         'JOIN pulse_seal_keys k ON k.old_id = x.id', r);
          EXECUTE format('CREATE TEMPORARY TABLE pulse_seal_answer ON COMMIT DROP AS '
                         'SELECT gen_random_uuid() AS id, x.organization_id, k.new_id AS response_id, x.round_id, '
                         'x.team_id, x.question_id, x.value FROM %I x JOIN pulse_seal_keys k ON k.old_id = x.response_id',
                         a);
          EXECUTE format('CREATE TEMPORARY TABLE pulse_seal_comment ON COMMIT DROP AS '
                         'SELECT gen_random_uuid() AS id, organization_id, round_id, team_id, text FROM %I', c);
          -- New files for the round's partitions; the old ones go at commit. Locks only these three.
          EXECUTE format('TRUNCATE %I, %I, %I', r, a, c);
          EXECUTE format('INSERT INTO %I (id, organization_id, round_id, team_id) '
                         'SELECT id, organization_id, round_id, team_id FROM pulse_seal_response ORDER BY random()', r);
          EXECUTE format('INSERT INTO %I (id, organization_id, response_id, round_id, team_id, question_id, value) '
                         'SELECT id, organization_id, response_id, round_id, team_id, question_id, value '
                         'FROM pulse_seal_answer ORDER BY random()', a);
          EXECUTE format('INSERT INTO %I (id, organization_id, round_id, team_id, text) '
                         'SELECT id, organization_id, round_id, team_id, text FROM pulse_seal_comment ORDER BY random()', c);
          DROP TABLE pulse_seal_keys, pulse_seal_response, pulse_seal_answer, pulse_seal_comment;
          EXECUTE format('ANALYZE %I, %I, %I', r, a, c);
        END $$""",
        # Retention's purge (0018) without the DEFAULT partition it cleared too.
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
            IF to_regclass(t || '_r' || p_round) IS NOT NULL THEN
              EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t, t || '_r' || p_round);
              EXECUTE format('DROP TABLE %I', t || '_r' || p_round);
            END IF;
          END LOOP;
        END $$""",
    ]


def without_default(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
        # Rows kept in a DEFAULT partition move into their round's own (0011's function still
        # does that), then the DEFAULT partitions are dropped.
        cursor.execute(
            "SELECT DISTINCT round_id FROM ("
            + " UNION ".join(f"SELECT round_id FROM {table}_default" for table in SAID)
            + ") kept"
        )
        for (round_id,) in cursor.fetchall():
            cursor.execute("SELECT pulse_said_partitions(%s)", [round_id])
        for table in SAID:
            cursor.execute(f"DROP TABLE {table}_default")
        for statement in functions_sql(schema):
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0019_audit_log"),
    ]

    operations = [migrations.RunPython(without_default, elidable=False)]
