"""Every database starts with an active signing key per purpose (HS256, random)."""

import base64
import secrets

from django.db import migrations


def create_first_keys(apps, schema_editor):
    signing_key = apps.get_model("identity", "SigningKey")
    for purpose in ("access", "context"):
        if not signing_key.objects.filter(purpose=purpose, is_active=True).exists():
            signing_key.objects.create(
                kid=secrets.token_urlsafe(12),
                purpose=purpose,
                algorithm="HS256",
                secret=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("="),
                is_active=True,
            )


class Migration(migrations.Migration):
    dependencies = [("identity", "0001_initial")]
    operations = [migrations.RunPython(create_first_keys, migrations.RunPython.noop)]
