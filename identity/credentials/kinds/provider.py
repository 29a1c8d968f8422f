"""Access tokens of external identity providers, as bearers: not ours to mint, but a kind of
bearer all the same. They are verified by identity.customers.providers with the provider's
keys; here is what ends them."""

from __future__ import annotations

from core.errors import ErrorCode
from identity import errors
from identity.credentials.kinds.base import BearerKind, VerifiedBearer
from identity.credentials.kinds.customer import customer_revocation_keys
from identity.credentials.revocation import provider_revocation_key
from identity.principal import PrincipalKind


class ProviderAccessToken(BearerKind):
    """A provider's access token naming a customer; disabling the provider ends it."""

    principal_kind = PrincipalKind.CUSTOMER

    @classmethod
    def subject_revocation_keys(
        cls, bearer: VerifiedBearer, subject_id: str
    ) -> dict[str, ErrorCode]:
        return {
            provider_revocation_key(bearer.provider_id): errors.TOKEN_REVOKED,
            **customer_revocation_keys(subject_id),
        }
