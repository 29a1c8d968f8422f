"""Carts: the domain (``models``, ``owners``, ``services``, ``selectors``, ``migration``,
``errors``) knows owners and tenants only as ids and imports neither identity nor DRF; the API
layer (``apis``, ``urls``) turns the request's Principal into a CartOwner and calls a service.
``make check`` holds that line (import-linter, pyproject.toml)."""
