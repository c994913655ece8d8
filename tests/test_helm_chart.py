"""The Helm chart (deploy/helm/pulse): rendered with Go's text/template and Sprig
(tests/support/helm.py, as `helm template` would) and every object validated against the
Kubernetes API's JSON schemas (kubernetes-validate, strict: no unknown field). Then what the
chart promises: web autoscaled, workers, exactly one scheduler, migrations once as a hook Job
before the pods, secrets out of the pods' specs, PgBouncer when asked; docker-compose.yml runs
the same processes the same way."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.support.helm import RenderError, chart_render

KUBERNETES = "1.30.0"  # the oldest minor the chart supports; its objects are the same in later ones
ROOT = Path(__file__).resolve().parent.parent
SECRETS = {
    "secretKey": "not-a-real-key-" + "x" * 40,
    "database": {"ownerPassword": "owner pw", "appPassword": "app/pw", "jobsPassword": "jobs pw"},
}


def _with(**values):
    return {**SECRETS, **values, "database": {**SECRETS["database"], **values.get("database", {})}}


def _objects(values: dict) -> dict[tuple[str, str], dict]:
    objects = chart_render(values)
    for made in objects:
        kubernetes_validate.validate(made, KUBERNETES, strict=True)  # raises on anything invalid
    keyed = {(made["kind"], made["metadata"]["name"]): made for made in objects}
    assert len(keyed) == len(objects), "two objects of the same kind and name"
    return keyed


def _container(made: dict) -> dict:
    spec = made["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    return container


def _env(made: dict) -> dict:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in _container(made).get("env", [])}


def test_the_chart_renders_valid_kubernetes_objects_web_autoscaled_workers_one_scheduler_and_the_migration_hook():
    made = _objects(SECRETS)
    assert set(made) == {
        ("Secret", "pulse-pulse"),
        ("ConfigMap", "pulse-pulse"),
        ("Job", "pulse-migrate"),
        ("Deployment", "pulse-web"),
        ("Service", "pulse-web"),
        ("HorizontalPodAutoscaler", "pulse-web"),
        ("Deployment", "pulse-worker"),
        ("Deployment", "pulse-beat"),
    }
    web = made[("Deployment", "pulse-web")]
    assert "replicas" not in web["spec"]  # the autoscaler owns the count
    assert made[("HorizontalPodAutoscaler", "pulse-web")]["spec"]["minReplicas"] == 2
    assert "migrate" not in " ".join(_container(web)["command"])  # no replica migrates
    assert made[("Deployment", "pulse-beat")]["spec"]["replicas"] == 1
    assert made[("Deployment", "pulse-beat")]["spec"]["strategy"]["type"] == "Recreate"
    job = made[("Job", "pulse-migrate")]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert _container(job)["command"] == ["python", "manage.py", "migrate_once"]
    assert _env(job)["DATABASE_URL"]["secretKeyRef"]["key"] == "DATABASE_OWNER_URL"
    # What the Job reads exists before it: hooks of a lower weight.
    for kind in ("Secret", "ConfigMap"):
        annotations = made[(kind, "pulse-pulse")]["metadata"]["annotations"]
        assert int(annotations["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    # Each process connects as its own role, none with a password in its spec.
    assert _env(web)["DATABASE_URL"]["secretKeyRef"]["key"] == "DATABASE_WEB_URL"
    assert _env(made[("Deployment", "pulse-worker")])["DATABASE_URL"]["secretKeyRef"]["key"] == "DATABASE_JOBS_URL"
    assert "app/pw" not in yaml.safe_dump(web) and "app%2Fpw" not in yaml.safe_dump(web)
    secret = made[("Secret", "pulse-pulse")]["stringData"]
    assert secret["DATABASE_WEB_URL"] == "postgres://pulse_app:app%2Fpw@postgres:5432/pulse"
    assert secret["CELERY_BROKER_URL"] == "redis://redis:6379/0" and secret["CACHE_URL"] == "redis://redis:6379/1"
    config = made[("ConfigMap", "pulse-pulse")]["data"]
    assert config["DJANGO_DEBUG"] == "0" and config["DATABASE_POOLER"] == ""
    assert _container(web)["readinessProbe"]["httpGet"]["path"] == "/healthz/"


def test_pgbouncer_sentinels_a_replica_and_a_fixed_web_count():
    made = _objects(
        _with(
            pgbouncer={"enabled": True},
            redis={"sentinels": ["sentinel-0:26379", "sentinel-1:26379"], "master": "pulse"},
            database={"replicaHost": "postgres-replica"},
            web={"autoscaling": {"enabled": False}, "replicas": 3},
        )
    )
    assert ("Deployment", "pulse-pgbouncer") in made and ("Service", "pulse-pgbouncer") in made
    assert ("HorizontalPodAutoscaler", "pulse-web") not in made
    assert made[("Deployment", "pulse-web")]["spec"]["replicas"] == 3
    secret = made[("Secret", "pulse-pulse")]["stringData"]
    # Web and workers through PgBouncer; the migration straight to PostgreSQL (its advisory lock).
    assert secret["DATABASE_WEB_URL"].endswith("@pulse-pgbouncer:6432/pulse")
    assert secret["DATABASE_JOBS_URL"].endswith("@pulse-pgbouncer:6432/pulse")
    assert secret["DATABASE_OWNER_URL"].endswith("@postgres:5432/pulse")
    assert secret["DATABASE_REPLICA_URL"].endswith("@postgres-replica:5432/pulse")
    assert secret["CELERY_BROKER_URL"] == "sentinel://sentinel-0:26379;sentinel://sentinel-1:26379/0"
    assert made[("ConfigMap", "pulse-pulse")]["data"]["DATABASE_POOLER"] == "transaction"
    assert _env(made[("Job", "pulse-migrate")])["DATABASE_POOLER"] == ""
    ini = made[("Secret", "pulse-pgbouncer")]["stringData"]["pgbouncer.ini"]
    assert "pool_mode = transaction" in ini and "host=postgres port=5432" in ini


def test_an_existing_secret_replaces_the_chart_s_own():
    made = _objects({"existingSecret": "pulse-credentials"})
    assert ("Secret", "pulse-pulse") not in made
    refs = _container(made[("Deployment", "pulse-web")])["envFrom"]
    assert {"secretRef": {"name": "pulse-credentials"}} in refs


def test_without_a_secret_key_the_chart_refuses_to_render():
    with pytest.raises(RenderError, match="secretKey"):
        chart_render({})


def test_docker_compose_runs_the_same_processes_and_migrates_once_before_them():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert "migrate_once" in " ".join(compose["migrate"]["command"])
    for service in ("web", "worker", "beat"):
        assert compose[service]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "migrate" not in " ".join(compose[service]["command"])
    assert compose["web"]["command"][:2] == _container(_objects(SECRETS)[("Deployment", "pulse-web")])["command"][:2]
