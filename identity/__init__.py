"""Who is calling: one Django app (its tables are ``identity_*``), in rooms whose imports all
point down this list (``make check`` holds it with import-linter, see pyproject.toml):

- ``http``, ``admin``, ``management``: the edges. DRF authentication classes (one per
  credential kind), permissions, throttles, the views and URL maps of the shopper session
  endpoints and of the OAuth endpoints; the operators' admin; the management commands.
- ``oauth``: the token service: clients and their authentication, the grants of /oauth/token,
  revocation and introspection, discovery and JWKS, current-customer tokens.
- ``sessions``: from a request's bearer (and customer context) to a Principal, through the
  kinds registry; anonymous ids and their renewal; the customer context.
- ``customers``: customers, external identity providers (verification and administration),
  local accounts and signing a customer out everywhere.
- ``tenancy``: tenants, storefront apps and their X-Auth-Keys, browser origins, the cached
  records that authenticate a tenant's OAuth clients (API keys come here too).
- ``credentials``: what proves a caller: random secrets, the signing keyring, one module per
  token kind we mint and the registry of bearer kinds (``kinds/``), the one parse of a JWT
  (``jws``), refresh-token families, revocations.
- ``models``, ``errors``, ``scopes``, ``principal``: the vocabulary every room uses.

Below identity is ``core``, the shared kernel; above it ``commerceapi``, the composition root.
carts and catalog use identity only in their API layer (``apis``): their domain knows callers
as plain ids.
"""
