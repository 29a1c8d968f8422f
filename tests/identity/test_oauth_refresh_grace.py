"""The refresh-token reuse grace: a client that lost the answer to a refresh and retries with
the same refresh token within REFRESH_TOKEN_REUSE_GRACE_SECONDS gets that answer again (the
same access and refresh tokens), once. Every other reuse still revokes the whole sign-in.
Part of the test_oauth_token suite (see its docstring)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from identity.models import OAuthGrant, RefreshToken
from tests.conftest import Storefront
from tests.identity.oauth_helpers import Client, customer_headers, make_client, password_tokens
from tests.identity.oauth_token_common import (
    CART_URL,
    assert_oauth_error,
    refresh,
    row_of,
)

REUSED = {
    "error": "invalid_grant",
    "error_description": "The refresh token was used already; the sign-in has been revoked.",
}


def same_pair(answer: dict[str, Any], other: dict[str, Any]) -> bool:
    return (answer["access_token"], answer["refresh_token"]) == (
        other["access_token"],
        other["refresh_token"],
    )


def assert_family_revoked(api: APIClient, *access_tokens: str) -> None:
    grant = OAuthGrant.objects.get()
    assert grant.revoked_at is not None
    assert grant.revoked_reason == "refresh token reused"
    assert not RefreshToken.objects.exclude(replay_answer="").exists()
    for access_token in access_tokens:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {access_token}"}
        answer = api.get("/commerceapi/authentication/customercontext", **headers)
        assert (answer.status_code, answer.json()["code"]) == (401, 2012), answer.content


def test_a_retry_within_the_grace_gets_the_same_answer_and_the_sign_in_goes_on(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given a refresh whose answer the app lost
    signed_in = password_tokens(api, sales_channel)
    lost = refresh(api, sales_channel, signed_in["refresh_token"])
    assert lost.status_code == 200, lost.content

    # when the app retries with the same refresh token at once
    retried = refresh(api, sales_channel, signed_in["refresh_token"])

    # then it gets the same access and refresh tokens, with the same scope and lifetime
    assert retried.status_code == 200, retried.content
    assert retried["Cache-Control"] == "no-store"
    body, first = retried.json(), lost.json()
    assert body == {**first, "expires_in": body["expires_in"]}
    assert first["expires_in"] - 1 <= body["expires_in"] <= first["expires_in"]
    # and the sign-in lives on: the tokens work and the new refresh token rotates
    assert OAuthGrant.objects.get().revoked_at is None
    assert api.get(CART_URL, **customer_headers(api, body["access_token"])).status_code == 200
    assert refresh(api, sales_channel, body["refresh_token"]).status_code == 200


def test_the_kept_answer_is_sealed_with_the_used_token_not_stored_in_clear(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given a rotation
    signed_in = password_tokens(api, sales_channel)
    answer = refresh(api, sales_channel, signed_in["refresh_token"]).json()

    # then the used row keeps the answer, but neither token is in it, and the keys of
    # SECRETS_ENCRYPTION_KEYS do not open it (only a key derived from the used token does)
    sealed = row_of(signed_in["refresh_token"]).replay_answer
    assert sealed
    for token in (answer["access_token"], answer["refresh_token"]):
        assert token not in sealed
        assert token.split(".")[-1] not in sealed
    database_keys = MultiFernet([Fernet(key) for key in settings.SECRETS_ENCRYPTION_KEYS])
    with pytest.raises(InvalidToken):
        database_keys.decrypt(sealed.encode())
    assert row_of(answer["refresh_token"]).replay_answer == ""


def test_a_second_retry_revokes_the_sign_in(
    api: APIClient,
    sales_channel: Client,
    customer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a refresh and the one retry the grace allows
    signed_in = password_tokens(api, sales_channel)
    first = refresh(api, sales_channel, signed_in["refresh_token"]).json()
    assert same_pair(refresh(api, sales_channel, signed_in["refresh_token"]).json(), first)

    # when the same refresh token comes a third time, still within the grace
    with django_capture_on_commit_callbacks(execute=True):
        answer = refresh(api, sales_channel, signed_in["refresh_token"])

    # then it is reuse: refused, and the whole family is revoked
    assert_oauth_error(answer, 400, REUSED)
    assert_family_revoked(api, signed_in["access_token"], first["access_token"])
    assert_oauth_error(
        refresh(api, sales_channel, first["refresh_token"]),
        400,
        {"error": "invalid_grant", "error_description": "The refresh token has been revoked."},
    )


def test_a_retry_after_the_grace_revokes_the_sign_in(
    api: APIClient,
    sales_channel: Client,
    customer: Any,
    clock: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a refresh
    signed_in = password_tokens(api, sales_channel)
    first = refresh(api, sales_channel, signed_in["refresh_token"]).json()

    # when the used token comes again just after the grace
    clock(settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        answer = refresh(api, sales_channel, signed_in["refresh_token"])

    # then
    assert_oauth_error(answer, 400, REUSED)
    assert_family_revoked(api, first["access_token"])


def test_a_retry_by_another_client_revokes_the_sign_in(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    customer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a refresh through the web shop, and another sales channel
    signed_in = password_tokens(api, sales_channel)
    first = refresh(api, sales_channel, signed_in["refresh_token"]).json()
    mobile = make_client(storefront, name="Mobile app")

    # when the other client presents the used token within the grace
    with django_capture_on_commit_callbacks(execute=True):
        answer = refresh(api, mobile, signed_in["refresh_token"])

    # then a used token in another client's hands is a copy: the sign-in is revoked
    assert_oauth_error(answer, 400, REUSED)
    assert_family_revoked(api, first["access_token"])


def test_only_the_immediately_previous_token_may_be_retried(
    api: APIClient,
    sales_channel: Client,
    customer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given two rotations in a row: A -> B -> C
    token_a = password_tokens(api, sales_channel)["refresh_token"]
    answer_b = refresh(api, sales_channel, token_a).json()
    answer_c = refresh(api, sales_channel, answer_b["refresh_token"]).json()

    # when A comes again, within the grace
    with django_capture_on_commit_callbacks(execute=True):
        answer = refresh(api, sales_channel, token_a)

    # then it is no retry of the last answer: the family is revoked
    assert_oauth_error(answer, 400, REUSED)
    assert_family_revoked(api, answer_b["access_token"], answer_c["access_token"])


def test_without_a_grace_any_reuse_revokes_the_sign_in(
    api: APIClient,
    sales_channel: Client,
    customer: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given the grace switched off
    settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS = 0
    signed_in = password_tokens(api, sales_channel)
    first = refresh(api, sales_channel, signed_in["refresh_token"]).json()
    assert row_of(signed_in["refresh_token"]).replay_answer == ""

    # when the used token comes again at once
    with django_capture_on_commit_callbacks(execute=True):
        answer = refresh(api, sales_channel, signed_in["refresh_token"])

    # then
    assert_oauth_error(answer, 400, REUSED)
    assert_family_revoked(api, first["access_token"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_refreshes_of_one_token_get_the_same_answer(
    storefront: Storefront, sales_channel: Client, customer: Any
) -> None:
    # given a sign-in's refresh token, and an app that sends its refresh twice at once (a
    # retry racing the lost answer)
    tokens = password_tokens(APIClient(), sales_channel)
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict[str, Any]]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def use_it() -> None:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            answer = refresh(client, sales_channel, tokens["refresh_token"])
            with lock:
                answers.append((answer.status_code, answer.json()))
        except BaseException as error:
            with lock:
                failures.append(error)
        finally:
            connection.close()

    # when both arrive together
    threads = [threading.Thread(target=use_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then the token was rotated once, and both got that one answer
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert [status for status, _ in answers] == [200, 200], answers
    (_, first), (_, second) = answers
    assert same_pair(first, second)
    grant = OAuthGrant.objects.get()
    assert grant.revoked_at is None
    assert RefreshToken.objects.filter(grant=grant).count() == 2
    assert RefreshToken.objects.get(grant=grant, used_at__isnull=False).replayed_at is not None
    # and the sign-in goes on with the new refresh token
    assert refresh(APIClient(), sales_channel, first["refresh_token"]).status_code == 200
