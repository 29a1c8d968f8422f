"""Local customer accounts (e-mail and password at this API) and "sign out everywhere".

Passwords are hashed by Django's configured hasher (PBKDF2 by default). A sign-in answers the
same, in about the same time, for an unknown e-mail and a wrong password: an unknown e-mail
still runs the hasher once. After ``PASSWORD_LOCKOUT_ATTEMPTS`` failures for one e-mail within
``PASSWORD_LOCKOUT_SECONDS`` that e-mail is locked for the rest of the window, known or not, so
the lock says nothing about whether an account exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import (
    MinimumLengthValidator,
    get_default_password_validators,
    validate_password,
)
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.counters import cache_counter_increment
from core.errors import DomainError
from identity import errors
from identity.credentials.refresh import grants_revoke_for_customer
from identity.credentials.revocation import revocation_add, signout_revocation_key
from identity.customers.customers import LAST_SEEN_RESOLUTION, storable_text
from identity.models import Customer, LocalAccount, Tenant

MAX_PASSWORD_LENGTH = 1024


def email_normalize(email: str) -> str:
    return email.strip().lower()


def password_minimum_length() -> int:
    """The shortest password the configured validators accept (1 if none says)."""
    return max(
        (
            validator.min_length
            for validator in get_default_password_validators()
            if isinstance(validator, MinimumLengthValidator)
        ),
        default=1,
    )


def _password_owner(*, email: str, name: str) -> User:
    """An unsaved user carrying what Django's similarity validator compares a password with."""
    return User(username=email, email=email, first_name=name[:150])


def local_account_password_problems(*, password: str, email: str, name: str = "") -> list[str]:
    """What the password validators (and the length limit) say against ``password`` for the
    account of ``email``: empty if it is acceptable."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return [f"At most {MAX_PASSWORD_LENGTH} characters."]
    try:
        validate_password(password, user=_password_owner(email=email, name=name))
    except ValidationError as error:
        return list(error.messages)
    return []


def local_account_create(
    *, tenant: Tenant, email: str, password: str, name: str = "", group: str = ""
) -> Customer:
    """A customer with a local account. ``ValidationError`` (per field) for a malformed e-mail
    or a weak password; ``DomainError`` ``email_taken`` when the tenant has that e-mail."""
    email = email_normalize(email)
    problems: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError as error:
        problems["email"] = list(error.messages)
    password_problems = local_account_password_problems(password=password, email=email, name=name)
    if password_problems:
        problems["password"] = password_problems
    if problems:
        raise ValidationError(problems)
    hashed = make_password(password)
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                tenant=tenant, email=email, name=name[:200], group=group[:64]
            )
            LocalAccount.objects.create(
                customer=customer,
                tenant=tenant,
                email=email,
                password=hashed,
                password_changed_at=timezone.now(),
            )
    except IntegrityError:
        raise DomainError.for_field(
            errors.EMAIL_TAKEN, "email", "A customer with this e-mail exists already."
        ) from None
    return customer


def local_account_set_password(*, account: LocalAccount, password: str) -> LocalAccount:
    """Set a new password (validated) and end the customer's sessions: whoever knew the old
    password may hold tokens."""
    problems = local_account_password_problems(
        password=password, email=account.email, name=account.customer.name
    )
    if problems:
        raise ValidationError({"password": problems})
    account.password = make_password(password)
    account.password_changed_at = timezone.now()
    with transaction.atomic():
        account.save(update_fields=["password", "password_changed_at", "updated_at"])
        customer_sign_out_everywhere(customer=account.customer)
    return account


def customer_set_group(*, customer: Customer, group: str) -> Customer:
    customer.group = group[:64]
    customer.save(update_fields=["group", "updated_at"])
    return customer


class SignInRefused(Exception):
    """Wrong e-mail or password, a deactivated customer, or a locked e-mail."""

    def __init__(self, *, locked: bool = False) -> None:
        super().__init__("locked" if locked else "refused")
        self.locked = locked


def _failures_key(tenant_id: int, email: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}:{email}".encode()).hexdigest()
    return f"sign-in-failures:{digest}"


def _failure_count(key: str) -> int:
    value = cache.get(key)
    return value if isinstance(value, int) else 0


def _rehash_of(account_pk: int) -> Callable[[str], None]:
    def rehash(raw_password: str) -> None:
        # The hasher's settings changed since this hash was made: store it as they say now.
        LocalAccount.objects.filter(pk=account_pk).update(password=make_password(raw_password))

    return rehash


def password_sign_in(*, tenant_id: int, email: Any, password: Any) -> Customer:
    """The active customer whose local account this is; ``SignInRefused`` otherwise."""
    if not isinstance(email, str) or not isinstance(password, str):
        raise SignInRefused()
    email = email_normalize(email)
    # Too long for any account: refused (after the hasher, like any unknown e-mail), not cut.
    fits = len(email) <= 254 and len(password) <= MAX_PASSWORD_LENGTH
    email, password = email[:254], password[:MAX_PASSWORD_LENGTH]
    failures_key = _failures_key(tenant_id, email)
    locked = _failure_count(failures_key) >= settings.PASSWORD_LOCKOUT_ATTEMPTS
    # Text no database can hold (a NUL) is in no account, and a query with it would fail.
    account = (
        LocalAccount.objects.select_related("customer")
        .filter(tenant_id=tenant_id, email=email)
        .first()
        if fits and storable_text(email) is not None
        else None
    )

    # Without an account Django still runs the hasher (against an unusable password), so both
    # take the hasher's time.
    matches = (
        check_password(password, account.password, setter=_rehash_of(account.pk))
        if account is not None
        else check_password(password, make_password(None))
    )
    if locked:
        raise SignInRefused(locked=True)
    if account is None or not matches:
        cache_counter_increment(failures_key, settings.PASSWORD_LOCKOUT_SECONDS)
        raise SignInRefused()
    if not account.customer.is_active:
        raise SignInRefused()
    cache.delete(failures_key)
    customer = account.customer
    now = timezone.now()
    if customer.last_seen_at is None or now - customer.last_seen_at > LAST_SEEN_RESOLUTION:
        Customer.objects.filter(pk=customer.pk).update(last_seen_at=now)
        customer.last_seen_at = now
    return customer


def customer_sign_out_everywhere(*, customer: Customer) -> int:
    """End every token and context the customer holds now: refresh-token families, our access
    tokens, and tokens of external providers issued until now. Signing in again works.

    Returns how many sign-ins (refresh-token families) were ended.
    """
    with transaction.atomic():
        ended = grants_revoke_for_customer(customer=customer, reason="signed out everywhere")
        revocation_add(
            key=signout_revocation_key(str(customer.public_id)),
            reason="signed out everywhere",
            not_before=timezone.now(),
        )
    return ended
