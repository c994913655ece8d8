"""Version 3 of the question bank (docs/measurement.md, "What a pulse asks"): a second core item
for each early sign of burnout, so each sign is measured by two items like each condition.

Both are written for Pulse on the constructs of exhaustion and mental distance as burnout
research describes them (the depletion of energy by work; withdrawing from work and doing it
without involvement), not copied from a published questionnaire. Like every frequency item they
ask about the time since the last pulse, are keyed the same way as the sign's first item (higher
is more strain) and are never reverse-keyed, so "sometimes" means the same on both.

Each is placed after its sign's other items. Every survey that asks a sign's core item asks the
new one from its next round on (rounds froze their questions when they opened); a comparison of
rounds before and after uses the items they share (docs/measurement.md, "Item bank versions").
"""

from django.db import migrations, models

FREQUENCY = "frequency5"
# code, construct, the last item of the sign it follows, the core item whose surveys ask it, text
NEW = (
    ("exh-4", "exhaustion", "exh-3", "exh-1", "My energy ran out before my working day did."),
    ("dis-4", "mental_distance", "dis-3", "dis-1", "My work felt like something I just had to get through."),
)


def bank_v3(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    SurveyQuestion = apps.get_model("surveys", "SurveyQuestion")
    bank = Question._base_manager.filter(organization=None)
    for code, construct, after, core, text in NEW:
        if bank.filter(code=code).exists():
            continue
        previous = bank.filter(code=after).first()
        position = previous.position + 1 if previous else max(bank.values_list("position", flat=True), default=0) + 1
        bank.filter(position__gte=position).update(position=models.F("position") + 1)
        new = Question._base_manager.create(
            organization=None,
            code=code,
            construct=construct,
            scale=FREQUENCY,
            text=text,
            is_core=True,
            position=position,
        )
        asking = SurveyQuestion._base_manager.filter(question__organization=None, question__code=core)
        for survey_id, organization_id in asking.values_list("survey_id", "organization_id"):
            _ask(SurveyQuestion, survey_id=survey_id, organization_id=organization_id, question=new)


def _ask(SurveyQuestion, *, survey_id, organization_id, question):
    """Add `question` to a survey after the items of its construct."""
    asked = SurveyQuestion._base_manager.filter(survey_id=survey_id)
    same = asked.filter(question__construct=question.construct).aggregate(last=models.Max("position"))["last"]
    position = (same if same is not None else asked.aggregate(last=models.Max("position"))["last"] or 0) + 1
    asked.filter(position__gte=position).update(position=models.F("position") + 1)
    SurveyQuestion._base_manager.create(
        organization_id=organization_id, survey_id=survey_id, question=question, position=position
    )


def bank_v2(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    SurveyQuestion = apps.get_model("surveys", "SurveyQuestion")
    RoundQuestion = apps.get_model("surveys", "RoundQuestion")
    for code, *_ in NEW:
        new = Question._base_manager.filter(organization=None, code=code).first()
        if new is None:
            continue
        SurveyQuestion._base_manager.filter(question=new).delete()
        if RoundQuestion._base_manager.filter(question=new).exists():
            # Asked already: a past round shows it, so it stays, retired.
            new.is_active, new.is_core = False, False
            new.save(update_fields=["is_active", "is_core"])
        else:
            new.delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0013_participation_snapshots")]

    operations = [
        migrations.AlterField(
            model_name="question",
            name="is_core",
            field=models.BooleanField(default=False, help_text="Part of the default pulse (12 items since bank v3)."),
        ),
        migrations.RunPython(bank_v3, bank_v2),
    ]
