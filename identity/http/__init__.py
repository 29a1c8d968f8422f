"""identity's API layer: ``authentication`` (one DRF class per credential kind: X-Auth-Key,
bearer, shopper bearer with its context), ``permissions``, ``throttles``, ``openapi`` (how they
appear in the schema), the views and URL maps of the shopper session endpoints (``apis``,
``urls``) and of the OAuth endpoints (``oauth_apis``, ``oauth_urls``), which make the RFC 6749
answers of the token service's refusals. Views turn a Principal into plain ids and call a
service of a room below."""
