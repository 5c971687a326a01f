"""Every page carries a Content-Security-Policy that allows no inline script, and satisfies it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from runs.services import run_create

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("url", ["/login/", "/", "/runs/", "/api/docs/", "/admin/"])
def test_pages_send_a_policy_with_no_inline_script(client_for, admin_user, url):
    response = client_for(None if url == "/login/" else admin_user).get(url)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    body = response.content.decode()
    assert not INLINE_SCRIPT.search(body), INLINE_SCRIPT.search(body)


def test_no_template_holds_an_inline_script_or_event_handler():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text):
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []


def test_the_run_pages_render_without_inline_script(client_for, analyst, demo_params):
    run = run_create(kind="demo", params=demo_params, owner=analyst)
    for url in (f"/runs/{run.run_id}/", "/runs/", "/simulations/compute/"):
        body = client_for(analyst).get(url).content.decode()
        assert not INLINE_SCRIPT.search(body) and not INLINE_HANDLER.search(body), url
