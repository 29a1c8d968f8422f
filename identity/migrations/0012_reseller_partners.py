"""Reseller partners: OAuth clients of the kind ``reseller``, the keyring's ``reseller``
purpose, whose HS256 key signs their tokens (the first one is made here), and the tenant's
switch of the Reseller surface (on)."""

import secrets

from django.db import migrations, models

from identity.credentials.encryption import secret_encrypt
from identity.credentials.keyring import signing_key_material


def first_reseller_key(apps, schema_editor):
    signing_key = apps.get_model("identity", "SigningKey")
    if signing_key.objects.filter(purpose="reseller", is_active=True).exists():
        return
    signing_key.objects.create(
        kid=secrets.token_urlsafe(12),
        purpose="reseller",
        algorithm="HS256",
        encrypted_secret=secret_encrypt(signing_key_material("HS256")),
        is_active=True,
    )


def no_reseller_keys(apps, schema_editor):
    apps.get_model("identity", "SigningKey").objects.filter(purpose="reseller").delete()


class Migration(migrations.Migration):
    dependencies = [("identity", "0011_storefront_origins_and_admin_names")]
    operations = [
        migrations.AddField(
            model_name="tenant",
            name="reseller_api_enabled",
            field=models.BooleanField(
                default=True,
                help_text="Reseller partners may generate tokens and call /reseller/.",
            ),
        ),
        migrations.AlterField(
            model_name="oauthclient",
            name="kind",
            field=models.CharField(
                choices=[
                    ("sales_channel", "Sales channel (public, no secret)"),
                    ("integration", "Integration (server to server)"),
                    ("webapp", "Web application (server side)"),
                    ("third_party_app", "Third-party app"),
                    ("reseller", "Reseller partner (the Reseller surface, /reseller/)"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="signingkey",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("access", "Access tokens of the token service"),
                    ("anonymous", "Anonymous shopper tokens"),
                    ("context", "Customer contexts"),
                    ("reseller", "Reseller tokens (Generate Token)"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(first_reseller_key, no_reseller_keys),
    ]
