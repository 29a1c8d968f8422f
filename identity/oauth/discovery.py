"""What the API publishes about itself: the public keys of the keyring (JWKS, RFC 7517) and the
authorization server metadata (RFC 8414).

Only asymmetric keys are published: an HMAC key is a secret. During a rotation the retired keys
stay listed until ``verify_until``, so a verifier that cached the set finds every live ``kid``.
"""

from __future__ import annotations

import json
from typing import Any

import jwt

from identity.credentials.keyring import keyring_get
from identity.models import GrantType
from identity.oauth.grants import SUBJECT_TOKEN_TYPES
from identity.scopes import ALL_SCOPES

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def jwks() -> dict[str, Any]:
    keys = []
    for key in keyring_get().verifying_keys():
        if key.algorithm.startswith("HS"):
            continue
        algorithm = jwt.get_algorithm_by_name(key.algorithm)
        jwk = json.loads(algorithm.to_jwk(key.verifying_key))
        # "use" says it; RFC 7517 section 4.3: not also "key_ops" (PyJWT adds it to RSA keys).
        jwk.pop("key_ops", None)
        jwk.update({"kid": key.kid, "alg": key.algorithm, "use": "sig"})
        keys.append(jwk)
    return {"keys": keys}


def authorization_server_metadata(*, issuer: str, base_url: str) -> dict[str, Any]:
    """RFC 8414. ``issuer`` is the ``iss`` of our tokens; endpoints are under ``base_url``."""
    return {
        "issuer": issuer,
        "token_endpoint": f"{base_url}/oauth/token",
        "revocation_endpoint": f"{base_url}/oauth/revoke",
        "introspection_endpoint": f"{base_url}/oauth/introspect",
        "jwks_uri": f"{base_url}/.well-known/jwks.json",
        "grant_types_supported": list(GrantType.values),
        # RFC 8414 requires the member; there is no authorization endpoint, so no response type
        # returns any credential: "none" (OAuth 2.0 Multiple Response Type Encoding Practices).
        "response_types_supported": ["none"],
        "scopes_supported": list(ALL_SCOPES),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS[:2],
        "token_exchange_subject_token_types_supported": list(SUBJECT_TOKEN_TYPES),
    }
