"""Clients that could fill a shopper's cart (``cart:write``) may now check it out and read the
shopper's orders: ``orders:read`` and ``orders:write`` are added to their scopes, as new clients
get them by default. Operators can take them away again in the admin."""

from django.db import migrations

ORDER_SCOPES = ["orders:read", "orders:write"]


def grant_order_scopes(apps, schema_editor):
    OAuthClient = apps.get_model("identity", "OAuthClient")
    for client in OAuthClient.objects.all():
        if "cart:write" in client.scopes and not set(ORDER_SCOPES) <= set(client.scopes):
            client.scopes = sorted(set(client.scopes) | set(ORDER_SCOPES))
            client.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("identity", "0005_oauth_clients_accounts_grants"),
    ]

    operations = [migrations.RunPython(grant_order_scopes, migrations.RunPython.noop)]
