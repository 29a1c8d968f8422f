"""The OAuth endpoints and the documents under /.well-known/."""

from django.urls import path

from identity.http.oauth_apis import (
    IntrospectApi,
    JwksApi,
    MetadataApi,
    OpenIdConfigurationApi,
    RevokeApi,
    TokenApi,
)

urlpatterns = [
    path("oauth/token", TokenApi.as_view(), name="oauth-token"),
    path("oauth/revoke", RevokeApi.as_view(), name="oauth-revoke"),
    path("oauth/introspect", IntrospectApi.as_view(), name="oauth-introspect"),
    path(".well-known/jwks.json", JwksApi.as_view(), name="jwks"),
    path(
        ".well-known/oauth-authorization-server",
        MetadataApi.as_view(),
        name="oauth-metadata",
    ),
    path(
        ".well-known/openid-configuration",
        OpenIdConfigurationApi.as_view(),
        name="openid-configuration",
    ),
]
