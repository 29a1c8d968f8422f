"""A third-party "loyalty points" app that trusts current-customer tokens.

Standard library and PyJWT only; docs/third-party-apps.md runs it against ``make run``:

    LOYALTY_CLIENT_ID=ci_... LOYALTY_CLIENT_SECRET=cs_... python loyalty_points.py 8050
    curl -s localhost:8050/points -H "Authorization: Bearer $CURRENT_CUSTOMER_TOKEN"

During a secret rotation put the new and the old secret in LOYALTY_CLIENT_SECRET, separated by a
space: the token's ``kid`` header names the secret that signed it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

OPERATION = "current_customer"
REQUIRED_CLAIMS = ["exp", "iat", "aud", "iss", "jti"]
LEEWAY_SECONDS = 30  # clock skew between the API and this app
# The app's own data, keyed by the customer id of the token: an in-memory stand-in, seeded
# from LOYALTY_POINTS='{"<customer id>": 120}'. Unknown customers have 0 points.
POINTS: dict[str, int] = json.loads(os.environ.get("LOYALTY_POINTS", "{}"))


class TokenRefused(Exception):
    """The token is missing, malformed, wrongly signed, expired or not for this app."""


def _secret_prefix(secret: str) -> str:
    # A client secret reads cs_<prefix>_<random>; the token's kid is that prefix.
    parts = secret.split("_")
    return parts[1] if len(parts) >= 3 else ""


def verify_current_customer_token(
    token: str, *, client_id: str, client_secret: str | Sequence[str], issuer: str
) -> dict[str, Any]:
    """The verified claims of a current-customer token, or ``TokenRefused``.

    HS256 only (never the token's own choice of ``alg``), signed with one of our secrets (the
    one its ``kid`` names), ``aud`` = our client id, ``iss`` = the API's issuer, exp/iat/jti
    present, and ``operation`` = ``current_customer``.
    """
    secrets = [client_secret] if isinstance(client_secret, str) else list(client_secret)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((secret for secret in secrets if _secret_prefix(secret) == kid), None)
        if key is None:
            raise TokenRefused("signed with a secret this app does not hold")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=client_id,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as error:
        raise TokenRefused(str(error)) from None
    customer = claims.get("customer")
    if claims.get("operation") != OPERATION:
        raise TokenRefused("not a current-customer token")
    if not isinstance(customer, dict) or not isinstance(customer.get("id"), str):
        raise TokenRefused("no customer id")
    return claims


class PointsHandler(BaseHTTPRequestHandler):
    server: PointsServer

    def do_GET(self) -> None:
        if self.path != "/points":
            self._answer(404, {"error": "not_found"})
            return
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise TokenRefused("send Authorization: Bearer <current-customer token>")
            claims = verify_current_customer_token(
                token.strip(),
                client_id=self.server.client_id,
                client_secret=self.server.client_secrets,
                issuer=self.server.issuer,
            )
        except TokenRefused as refused:
            body = {"error": "invalid_token", "error_description": str(refused)}
            self._answer(401, body, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return
        # Only the customer the token names: never an id from the query or the body.
        customer_id = claims["customer"]["id"]
        self._answer(200, {"customerId": customer_id, "points": POINTS.get(customer_id, 0)})

    def _answer(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class PointsServer(ThreadingHTTPServer):
    def __init__(
        self, address: tuple[str, int], *, client_id: str, client_secrets: list[str], issuer: str
    ) -> None:
        super().__init__(address, PointsHandler)
        self.client_id, self.client_secrets, self.issuer = client_id, client_secrets, issuer


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LOYALTY_PORT", "8050"))
    server = PointsServer(
        ("127.0.0.1", port),
        client_id=os.environ["LOYALTY_CLIENT_ID"],
        client_secrets=os.environ["LOYALTY_CLIENT_SECRET"].split(),
        issuer=os.environ.get("COMMERCEAPI_ISSUER", "commerceapi"),
    )
    print(f"Loyalty points on http://127.0.0.1:{port}/points", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
