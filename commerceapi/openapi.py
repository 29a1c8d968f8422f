"""The OpenAPI schema's surfaces: every operation is tagged with the surface it belongs to
(docs/surfaces.md), first among its tags, and the schema describes each surface tag.

The composition root knows the URL map, so the surface of an operation is its path's: a
drf-spectacular post-processing hook adds the tags to the whole schema.
"""

from __future__ import annotations

from typing import Any

SURFACE_TAGS = {
    "Storefront": "SPA storefronts and mobile apps, for shoppers: Authorization: Bearer (an "
    "anonymous, customer or provider token; a sales channel's or integration's client token "
    "for the catalog) with X-Customer-Context, or the storefront's X-Auth-Key. See "
    "docs/surfaces.md.",
    "Reseller": "Partner systems, for their own customers: Authorization: Bearer with a "
    "reseller token from Generate Token (POST /reseller/token), nothing else.",
    "Supplier": "Suppliers' systems (their products and stock): Authorization: ApiKey.",
    "Payment": "Payment providers (events on orders): Authorization: ApiKey.",
    "Token service": "OAuth 2 endpoints (RFC 6749 answers) and the documents under /.well-known/.",
    "Operations": "Liveness and readiness probes.",
}
_BY_PREFIX = (
    ("/reseller/", "Reseller"),
    ("/supplier/", "Supplier"),
    ("/payment/", "Payment"),
    ("/oauth/", "Token service"),
    ("/.well-known/", "Token service"),
    ("/healthz", "Operations"),
    ("/readyz", "Operations"),
)


def surface_of(path: str) -> str:
    """The surface tag of a path; anything not named above is the storefront's."""
    return next((tag for prefix, tag in _BY_PREFIX if path.startswith(prefix)), "Storefront")


def surface_tags_document(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    used: set[str] = set()
    for path, path_item in result.get("paths", {}).items():
        surface = surface_of(path)
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            tags = [tag for tag in operation.get("tags", []) if tag != surface]
            operation["tags"] = [surface, *tags]
            used.add(surface)
    result["tags"] = [
        {"name": name, "description": text} for name, text in SURFACE_TAGS.items() if name in used
    ]
    return result
