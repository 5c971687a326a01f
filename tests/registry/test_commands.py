"""`models list|promote|archive` and the demo bootstrap."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from simulations.registry.models import RegisteredModel
from simulations.registry.services import model_register

pytestmark = pytest.mark.django_db


def _call(*args: str) -> str:
    out = io.StringIO()
    call_command("models", *args, stdout=out)
    return out.getvalue()


def test_models_list_promote_archive(logistic_run, users):
    model_register(run=logistic_run, name="pd", actor=users["admin"])
    assert "pd: no alias" in _call("list")
    assert "pd@champion → v1" in _call("promote", "pd", "1")
    assert AuditEvent.objects.filter(action="registry.alias_set", target="pd@champion").exists()
    assert "champion→v1" in _call("list")
    with pytest.raises(CommandError, match="no version 7"):
        _call("promote", "pd", "7")
    with pytest.raises(CommandError, match="no model"):
        _call("archive", "nope")
    assert "pd v1 archived" in _call("archive", "pd", "1")
    assert "pd archived" in _call("archive", "pd")
    with pytest.raises(CommandError, match="archived already"):
        _call("archive", "pd")


def test_registry_bootstrap_demo_registers_existing_runs_as_champions(logistic_run):
    out = io.StringIO()
    call_command("registry_bootstrap_demo", "--no-train", stdout=out)
    model = RegisteredModel.objects.get(name="pd-logistic")
    assert model.aliases.get(name="champion").version.source_run_id == logistic_run.run_id
    assert "# pd-logistic" in model.model_card
    call_command("registry_bootstrap_demo", stdout=out)  # idempotent: nothing more
    assert RegisteredModel.objects.count() == 1
