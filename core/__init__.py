"""The shared kernel: what every app may use, and which uses no app of the project.

- ``errors``: ``ErrorCode``, its registry, and ``DomainError``, the one error services raise.
- ``problems``: DRF's exception handler; every failure, Django's ``ValidationError`` included,
  becomes ``application/problem+json``.
- ``fields``, ``openapi``, ``http``: serializer fields, schema pieces and response headers
  the API layers share.
- ``models``: abstract base models. ``tenants``: the tenant model named by
  ``settings.TENANT_MODEL``, for apps that know tenants only by id.
- ``policies``: vocabulary two apps share (how carts merge).
- ``counters`` and ``throttling``: fixed-window counters in the shared cache, and DRF's rate
  throttle built on them.
- ``admin``: admin building blocks.

Domain modules of the apps may import ``errors``, ``models``, ``tenants``, ``policies`` and
``counters``, none of which imports DRF; the other modules are for API layers.
"""
