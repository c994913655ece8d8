"""The product's question bank, written for Pulse (docs/measurement.md).

Four conditions that keep people out of burnout, six items each, and two early signs of
burnout, three items each. Core items make up the default 10-item pulse. All agree items run
1 (strongly disagree) to 5 (strongly agree); frequency items run 1 (never) to 5 (always) and are
asked about the time since the last pulse. No item is reverse-keyed.
"""

from django.db import migrations

AGREE = "agree5"
FREQUENCY = "frequency5"

BANK = [
    # code, construct, scale, core, text
    ("aut-1", "autonomy", AGREE, True, "I have a real say in how I organise my own work."),
    ("aut-2", "autonomy", AGREE, True, "When a decision affects my work, my view is asked for and taken seriously."),
    ("aut-3", "autonomy", AGREE, False, "I can choose the order in which I tackle my tasks."),
    ("aut-4", "autonomy", AGREE, False, "The rules I have to follow make sense for the work in front of me."),
    ("aut-5", "autonomy", AGREE, False, "I can try a new way of working without first asking for permission."),
    ("aut-6", "autonomy", AGREE, False, "My workload leaves me room to decide how to do things well."),
    ("com-1", "competence", AGREE, True, "I have what I need (tools, information, time) to do my work well."),
    ("com-2", "competence", AGREE, True, "Lately I have been able to finish work I am proud of."),
    ("com-3", "competence", AGREE, False, "I am learning things at work that make me better at what I do."),
    ("com-4", "competence", AGREE, False, "Obstacles that slow me down get removed when I raise them."),
    ("com-5", "competence", AGREE, False, "I get useful feedback on the quality of my work."),
    ("com-6", "competence", AGREE, False, "My skills are a good match for what I am asked to do."),
    ("rel-1", "relatedness", AGREE, True, "I can count on people in my team when things get difficult."),
    ("rel-2", "relatedness", AGREE, True, "I feel I belong in this team."),
    ("rel-3", "relatedness", AGREE, False, "I can disagree openly in my team without it being held against me."),
    ("rel-4", "relatedness", AGREE, False, "People here care about me as a person, not only about my output."),
    ("rel-5", "relatedness", AGREE, False, "I am kept in the conversations that matter for my work."),
    ("rel-6", "relatedness", AGREE, False, "I enjoy working with the people around me."),
    ("ben-1", "beneficence", AGREE, True, "I can see how my work makes a difference to someone."),
    ("ben-2", "beneficence", AGREE, True, "The work I do is worth the effort I put into it."),
    ("ben-3", "beneficence", AGREE, False, "I hear back from the people who benefit from my work."),
    ("ben-4", "beneficence", AGREE, False, "My work fits with what I think is important."),
    ("ben-5", "beneficence", AGREE, False, "I could explain to a friend why my job matters."),
    ("ben-6", "beneficence", AGREE, False, "Our team's work helps the people it is meant to help."),
    ("exh-1", "exhaustion", FREQUENCY, True, "I felt worn out by my work, even after a break or time off."),
    ("exh-2", "exhaustion", FREQUENCY, False, "I had to push myself just to start the working day."),
    (
        "exh-3",
        "exhaustion",
        FREQUENCY,
        False,
        "Work left me with too little energy for the people and things I care about outside it.",
    ),
    ("dis-1", "mental_distance", FREQUENCY, True, "I felt I was just going through the motions at work."),
    ("dis-2", "mental_distance", FREQUENCY, False, "I kept my work at arm's length so that it would not get to me."),
    ("dis-3", "mental_distance", FREQUENCY, False, "I found it hard to care about what my work is for."),
]


def add_bank(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    # The base manager: plain in migrations, and unscoped when tests call this on the real model.
    for position, (code, construct, scale, core, text) in enumerate(BANK, start=1):
        Question._base_manager.update_or_create(
            organization=None,
            code=code,
            defaults={
                "construct": construct,
                "scale": scale,
                "is_core": core,
                "text": text,
                "position": position,
            },
        )


def remove_bank(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    Question.objects.filter(organization=None, code__in=[row[0] for row in BANK]).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(add_bank, remove_bank)]
