"""Pages a new user meets in the first hour."""
from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_shows_the_login_error_once(analyst):
    response = Client().post("/login/", {"username": analyst.username, "password": "wrong"})
    assert response.status_code == 200
    assert response.content.decode().count("Please enter a correct username and password") == 1
