"""The answering form: reads the posted fields and gives them back for a re-render.

It deliberately does not validate: `response_submit` owns every rule (values, questions,
comment length), so the page, the benchmark and any future API enforce exactly the same ones.
"""

import re
from dataclasses import dataclass

from django.http import QueryDict
from django.utils.translation import gettext as _

from surveys.core.exceptions import PulseError
from surveys.selectors.answering import Item

FIELD = re.compile(r"^q(\d+)$")
SKIP = "skip"


@dataclass(frozen=True)
class ShownItem:
    item: Item
    selected: str


class AnswerForm:
    """The posted answers (`q<question id>` = 1–5 or "skip") and comment."""

    def __init__(self, data: QueryDict | None = None) -> None:
        self.data = data if data is not None else QueryDict()

    def answers(self) -> dict[str, str]:
        """{question id: posted value} for every `q<id>` field, skipped ones included."""
        answers = {}
        for key in self.data:
            match = FIELD.match(key)
            if not match:
                continue
            values = self.data.getlist(key)
            if len(values) != 1:
                raise PulseError(_("Please choose one answer per question."), code="answer_invalid")
            answers[match[1]] = values[0].strip()
        return answers

    def comment(self) -> str:
        return self.data.get("comment", "")

    def shown_items(self, items: list[Item]) -> list[ShownItem]:
        """The items with what the person chose (or "skip", the default), for a re-render."""
        shown = []
        for item in items:
            selected = self.data.get(item.field_name, SKIP)
            shown.append(ShownItem(item, selected if selected in dict(item.options) else SKIP))
        return shown
