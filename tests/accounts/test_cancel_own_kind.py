"""Owners stop their own runs when they may launch that kind; the rule follows the kind."""
from __future__ import annotations

import pytest

from accounts import roles
from accounts.roles import Role
from runs.models import Run, RunStatus


def _run(kind: str, owner) -> Run:
    return Run.objects.create(run_id=f"run_{kind}_{owner.pk}", kind=kind, owner=owner, params_hash="x",
                              status=RunStatus.RUNNING)


@pytest.mark.django_db
def test_it_lets_a_finops_admin_cancel_their_own_batch(make_user):
    finops_admin = make_user(Role.FINOPS_ADMIN)
    assert roles.can_cancel_run(finops_admin, _run("finops_batch", finops_admin))


@pytest.mark.django_db
def test_it_refuses_a_finops_admin_on_their_own_demo_run_they_may_not_launch(make_user):
    finops_admin = make_user(Role.FINOPS_ADMIN)
    assert not roles.can_cancel_run(finops_admin, _run("demo", finops_admin))


@pytest.mark.django_db
def test_it_refuses_an_analyst_on_a_batch_or_on_someone_elses_run(make_user):
    analyst, other = make_user(Role.ANALYST), make_user(Role.ANALYST)
    assert not roles.can_cancel_run(analyst, _run("finops_batch", analyst))
    assert not roles.can_cancel_run(analyst, _run("demo", other))
    assert roles.can_cancel_run(analyst, _run("simulation", analyst))
