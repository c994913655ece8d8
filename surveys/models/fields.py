import json
from typing import Any

from django.db import models


class JSONTextField(models.TextField):
    """JSON kept as text: stored exactly as written, parsed only when a row is read.

    For derived data written in bulk and never queried inside (Result's `items` and
    `covered_teams`), where parsing `jsonb` on write cost too much
    (docs/decisions/2026-11-25-one-result-row-per-node.md).
    """

    # What the type checker's Django plugin reads as the field's Python type.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(value)

    def to_python(self, value):
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))
