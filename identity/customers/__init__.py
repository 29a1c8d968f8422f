"""Customers: ``customers`` (found by provider identity, created on first sight, deactivated),
``providers`` (external identity providers: settings, administration, keys, verification of
their access tokens) and ``accounts`` (local e-mail and password accounts, sign-in with lockout,
signing a customer out everywhere). Of identity's rooms it imports only ``tenancy`` and
``credentials``."""
