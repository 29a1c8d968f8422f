"""Shopper sessions: ``bearer`` (a request's bearer to a Principal, through the kinds
registry or a provider; parsed once), ``anonymous`` (which anonymous id a token is issued for,
who may migrate it, retiring it) and ``context`` (the customer context bound to its bearer).
Imports the rooms below it: customers, tenancy, credentials."""
