"""Tenants and what calls on their behalf server to server: storefront apps and their
X-Auth-Keys (``storefront``), the browser origins they allow (``cors``), and the cached records
that authenticate a tenant's OAuth clients (``client_records``), refreshed when a tenant or an
app changes. API keys belong here too. Of identity's rooms it imports only ``credentials``."""
