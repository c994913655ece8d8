"""Version 2 of the question bank (docs/measurement.md, "What a pulse asks").

Rewrites the items that measured something else or two things at once, or whose wording sat
close to well-known published questionnaires, and moves two items that are not about their
construct out of the scored constructs. A question already asked keeps its row and its text (a
past round shows what people answered), renamed `<code>-v1` and retired; the new wording takes
the code. Surveys ask the new wording from their next round on; trends and change flags follow
the construct, not the item, so they carry on across the change.
"""

from django.db import migrations

# code: (construct, new text); None: the construct is unchanged.
REWRITTEN = {
    "aut-2": (None, "When a decision changes how I work, I have a say in it."),
    "aut-3": (None, "How I plan my working day is largely up to me."),
    "aut-6": (None, "I can adjust how I work when the situation calls for it."),
    "com-1": (None, "Lately I have handled the demands of my work well."),
    "rel-4": (None, "In my team, people notice how I am doing, not only what I deliver."),
    "ben-2": (None, "Something I did at work in the last few weeks helped someone."),
    "exh-1": (None, "I felt worn out by my work."),
    "dis-2": (None, "I did my work without caring much how it turned out."),
}
# code: (new code, new text), into the unscored "working conditions" group.
MOVED = {
    "com-4": ("ctx-1", "Obstacles that slow me down get removed when I raise them."),
    "ben-4": ("ctx-2", "My work fits with what I think is important."),
}


def bank_v2(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    SurveyQuestion = apps.get_model("surveys", "SurveyQuestion")
    bank = Question._base_manager.filter(organization=None)
    last = max(bank.values_list("position", flat=True), default=0)
    for code, (construct, text) in [*REWRITTEN.items(), *MOVED.items()]:
        old = bank.filter(code=code, is_active=True).first()
        if old is None:
            continue
        moved = code in MOVED
        new_code, new_construct = (MOVED[code][0], "context") if moved else (code, construct or old.construct)
        was_core = old.is_core and not moved
        if moved:
            last += 1
        old.code, old.is_active, old.is_core = f"{code}-v1", False, False
        old.save(update_fields=["code", "is_active", "is_core"])
        new = Question._base_manager.create(
            organization=None,
            code=new_code,
            construct=new_construct,
            scale=old.scale,
            text=text,
            is_core=was_core,
            position=last if moved else old.position,
        )
        # Surveys ask the new wording from their next round on (rounds froze theirs at opening).
        SurveyQuestion._base_manager.filter(question=old).update(question=new)


def bank_v1(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    SurveyQuestion = apps.get_model("surveys", "SurveyQuestion")
    RoundQuestion = apps.get_model("surveys", "RoundQuestion")
    bank = Question._base_manager.filter(organization=None)
    core = ("aut-2", "com-1", "ben-2", "exh-1")
    for code in [*REWRITTEN, *MOVED]:
        old = bank.filter(code=f"{code}-v1").first()
        new = bank.filter(code=MOVED[code][0] if code in MOVED else code, is_active=True).first()
        if old is None or new is None:
            continue
        SurveyQuestion._base_manager.filter(question=new).update(question=old)
        if RoundQuestion._base_manager.filter(question=new).exists():
            new.is_active = False
            new.code = f"{new.code}-v2"
            new.save(update_fields=["is_active", "code"])
        else:
            new.delete()
        old.code, old.is_active, old.is_core = code, True, code in core
        old.save(update_fields=["code", "is_active", "is_core"])


class Migration(migrations.Migration):
    dependencies = [("surveys", "0008_construct_context")]

    operations = [migrations.RunPython(bank_v2, bank_v1)]
