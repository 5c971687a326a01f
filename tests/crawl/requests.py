"""Sending one request as one persona, leaving the database as it was.

Each request runs inside a savepoint that is rolled back, so a POST that cancels,
deletes or logs out changes nothing for the next request; the session cookie is
restored too (a logout must not sign the persona out of the rest of the walk).
"""
from __future__ import annotations

import copy
from typing import Any

from django.db import transaction
from django.test import Client

from tests.crawl.world import ANONYMOUS, World

JSON = "application/json"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def clients_for(world: World) -> dict[str, Client]:
    clients: dict[str, Client] = {}
    for role, user in world.users.items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients[role] = client
    clients[ANONYMOUS] = Client(raise_request_exception=False)
    return clients


def send(client: Client, method: str, path: str, *, accept: str = JSON) -> Any:
    """The response of `method path`, with nothing it did kept. 5xx responses keep their
    exception (response.exc_info) so a failure can show the traceback."""
    cookies = copy.deepcopy(client.cookies)
    kwargs: dict[str, Any] = {"HTTP_ACCEPT": accept}
    if method in ("POST", "PUT", "PATCH"):
        kwargs.update(data="{}" if accept == JSON else "", content_type=JSON if accept == JSON else "application/x-www-form-urlencoded")
    with transaction.atomic():
        response = getattr(client, method.lower())(path, **kwargs)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)  # errors of a streamed body happen here
        transaction.set_rollback(True)
    client.cookies = cookies
    return response


def describe_failure(response: Any) -> str:
    exc = getattr(response, "exc_info", None)
    if exc and exc[1] is not None:
        import traceback

        return "".join(traceback.format_exception(*exc)[-3:]).strip()
    return ""
