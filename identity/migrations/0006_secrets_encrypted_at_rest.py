"""Signing keys and third-party apps' signing secrets are stored encrypted (Fernet, under
SECRETS_ENCRYPTION_KEYS): the plaintext rows are encrypted in place, and decrypted again when
the migration is reversed."""

from django.db import migrations

from identity.credentials.encryption import secret_decrypt, secret_encrypt

_FIELDS = (("SigningKey", "encrypted_secret"), ("OAuthClientSecret", "encrypted_signing_secret"))


def _rewrite(apps, transform):
    for model_name, field in _FIELDS:
        model = apps.get_model("identity", model_name)
        for row in model.objects.exclude(**{field: ""}).only("pk", field):
            model.objects.filter(pk=row.pk).update(**{field: transform(getattr(row, field))})


def encrypt(apps, schema_editor):
    _rewrite(apps, secret_encrypt)


def decrypt(apps, schema_editor):
    _rewrite(apps, secret_decrypt)


class Migration(migrations.Migration):
    dependencies = [("identity", "0005_oauth_clients_accounts_grants")]
    operations = [
        migrations.RenameField("signingkey", "secret", "encrypted_secret"),
        migrations.RenameField("oauthclientsecret", "signing_secret", "encrypted_signing_secret"),
        migrations.RunPython(encrypt, decrypt),
    ]
