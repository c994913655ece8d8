from django.db import migrations, models


def count_published_teams(apps, schema_editor):
    """Rounds published before the count was kept: their Result rows, counted once."""
    Round = apps.get_model("surveys", "Round")
    Result = apps.get_model("surveys", "Result")
    counts = dict(Result.objects.values("round_id").annotate(teams=models.Count("id")).values_list("round_id", "teams"))
    for round_id, teams in counts.items():
        Round.objects.filter(pk=round_id).update(teams_published=teams)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0004_roster_preview_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="round",
            name="teams_published",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Team nodes with results of their own, set at publication (0: nothing to show).",
            ),
        ),
        migrations.RunPython(count_published_teams, migrations.RunPython.noop),
    ]
