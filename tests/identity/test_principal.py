"""The Principal as Django and DRF see it: an authenticated caller, never Django's anonymous
user, whatever its kind; the shopper who has not signed in is ``is_anonymous_shopper``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from identity.principal import Principal, PrincipalKind


@pytest.mark.parametrize("kind", list(PrincipalKind))
def test_a_principal_of_any_kind_is_an_authenticated_user(kind: PrincipalKind) -> None:
    # given
    principal = Principal(tenant_id=1, kind=kind, subject_id="subject")

    # then Django's and DRF's questions get the answers of a signed-in user
    assert (principal.is_authenticated, principal.is_anonymous) == (True, False)
    assert (AnonymousUser().is_authenticated, AnonymousUser().is_anonymous) == (False, True)
    assert (principal.is_staff, principal.is_superuser) == (False, False)
    # and only an anonymous shopper is one
    assert principal.is_anonymous_shopper is (kind is PrincipalKind.ANONYMOUS)
    assert principal.is_shopper is (kind in (PrincipalKind.ANONYMOUS, PrincipalKind.CUSTOMER))
