"""The admin sign-in is limited per client IP and per user name, with a lockout message; once
locked, even the right password is refused until the window ends."""

import math
import re

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff")]

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff():
    return User.objects.create_superuser("staff", "staff@example.com", "right-password-123")


def sign_in(client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@override_settings(ADMIN_LOGIN_FAILURE_RATE="3/15m")
def test_too_many_failures_for_a_user_name_lock_it_from_every_ip(client):
    for attempt in range(3):
        response = sign_in(client, "staff", f"wrong-{attempt}", ip=f"203.0.113.{attempt}")
        assert response.status_code == 200 and "Please enter the correct username" in response.text
    response = sign_in(client, "staff", "right-password-123", ip="198.51.100.1")
    assert response.status_code == 429
    minutes = math.ceil(int(response["Retry-After"]) / 60)
    assert 1 <= minutes <= 15
    assert re.search(rf"Too many failed sign-in attempts. Try again in {minutes} minutes?\.", response.text)
    assert "_auth_user_id" not in client.session


@override_settings(ADMIN_LOGIN_FAILURE_RATE="3/15m")
def test_too_many_failures_from_an_ip_lock_it_for_every_user_name(client):
    for attempt in range(3):
        sign_in(client, f"guess{attempt}", "wrong")
    response = sign_in(client, "staff", "right-password-123")
    assert response.status_code == 429 and "Too many failed sign-in attempts" in response.text
    other_ip = sign_in(client, "staff", "right-password-123", ip="198.51.100.1")
    assert other_ip.status_code == 302 and other_ip["Location"] == "/admin/"


@override_settings(ADMIN_LOGIN_FAILURE_RATE="3/15m")
def test_unknown_user_names_are_locked_the_same_way_as_known_ones(client):
    answers = {}
    for username in ("staff", "nobody-by-this-name"):
        for attempt in range(4):
            response = sign_in(client, username, "wrong", ip=f"192.0.2.{attempt}{len(username)}")
        answers[username] = (response.status_code, "Too many failed sign-in attempts" in response.text)
    assert answers["staff"] == answers["nobody-by-this-name"] == (429, True)


def test_signing_in_below_the_limit_works(client):
    sign_in(client, "staff", "wrong")
    response = sign_in(client, "staff", "right-password-123")
    assert response.status_code == 302 and response["Location"] == "/admin/"
