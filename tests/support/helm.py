"""Render deploy/helm/pulse as `helm template` would, for tests/test_helm_chart.py.

No helm binary can be installed here, so the chart's templates are rendered by Go's own
text/template with Sprig's functions (the py-go-template package, the engine Helm itself builds
on), in a subprocess of its own: the library ends its process on a template error. The chart
keeps to what that engine has (no `include`/`tpl`), which Helm runs the same. A missing value is
an error, as with `helm template --strict`."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "pulse"

_RENDER_ONE = """
import json, pathlib, sys
import go_template
sys.stdout.write(go_template.render(pathlib.Path(sys.argv[1]), json.load(sys.stdin)).decode())
"""


class RenderError(Exception):
    pass


def merged(base: dict, overrides: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def chart_render(values: dict[str, Any], *, release: str = "pulse") -> list[dict]:
    """Every object the chart makes with these values (over values.yaml), in template order."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    context = {
        "Values": merged(yaml.safe_load((CHART / "values.yaml").read_text()), values),
        "Release": {"Name": release, "Namespace": "pulse", "Service": "Helm", "IsInstall": True},
        "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
    }
    objects: list[dict] = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        done = subprocess.run(
            [sys.executable, "-c", _RENDER_ONE, str(template)],
            input=json.dumps(context),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RenderError(f"{template.name}: {done.stdout}{done.stderr}".strip())
        objects += [document for document in yaml.safe_load_all(done.stdout) if document]
    return objects
