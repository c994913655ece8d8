"""Structural guards on the anonymity invariant (docs/privacy.md) and on deployability."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.core.management import call_command
from django.db import models

from surveys.models import Answer, Comment, Invitation, Membership, Participation, Response, User

ROOT = Path(__file__).resolve().parent.parent
IDENTITY_MODELS = {User, Membership, Invitation, Participation}
WHAT_WAS_SAID = (Response, Answer, Comment)


def _related_models(model):
    return {f.related_model for f in model._meta.get_fields() if f.is_relation and f.related_model}


def test_response_has_no_relation_to_a_person_an_invitation_or_a_participation():
    assert not (_related_models(Response) & IDENTITY_MODELS)
    assert {f.name for f in Response._meta.concrete_fields} == {"id", "organization", "round", "team"}


def test_answers_and_comments_do_not_reach_a_person_either():
    for model in (Answer, Comment):
        assert not (_related_models(model) & IDENTITY_MODELS), model
    for model in IDENTITY_MODELS:
        assert not (_related_models(model) & set(WHAT_WAS_SAID)), model


def test_comments_are_not_joinable_to_the_scored_answers_of_their_author():
    assert Response not in _related_models(Comment)


def test_response_answer_and_comment_carry_no_time_and_no_sequence():
    for model in WHAT_WAS_SAID:
        for field in model._meta.concrete_fields:
            assert not isinstance(field, models.DateField | models.TimeField | models.DurationField), field
        assert isinstance(model._meta.pk, models.UUIDField), model


def test_participation_records_only_round_and_person():
    names = {f.name for f in Participation._meta.concrete_fields}
    assert names == {"id", "organization", "round", "membership"}


def test_tenant_constraints_and_indexes_lead_with_the_organization():
    for model in apps.get_app_config("surveys").get_models():
        if not any(f.name == "organization" for f in model._meta.concrete_fields):
            continue
        for constraint in model._meta.constraints:
            if constraint.name == "question_bank_code":
                continue  # the shared bank has no organisation
            if isinstance(constraint, models.UniqueConstraint):
                assert constraint.fields[0] == "organization", (model, constraint.name)
        for index in model._meta.indexes:
            assert index.fields[0] == "organization", (model, index.name)


def test_migrations_are_complete(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_check_deploy_is_clean_under_production_settings():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "pulse.example.com",
        # A cache shared by every process, as production must have (tests/test_deployment.py).
        "CACHE_URL": "redis://127.0.0.1:6379/1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests, never in deployment
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_the_development_secret_key():
    env = {**os.environ, "DJANGO_DEBUG": "0"}
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
