"""The keyring gets a purpose per audience of its tokens: ``access`` keys, for the token
service's access tokens that third parties verify, become asymmetric (TOKEN_SIGNING_ALGORITHM,
ES256 by default) and are published at /.well-known/jwks.json; anonymous shopper tokens keep
the HS256 keys that signed them until now, under the new purpose ``anonymous``, so that every
anonymous token (and renewal proof) issued before keeps working. Customer and client access
tokens signed before with an HS256 key are refused after this migration; they live minutes,
and their clients refresh or ask again.
"""

import secrets

from django.conf import settings
from django.db import migrations, models

from identity.credentials.encryption import secret_encrypt
from identity.credentials.keyring import signing_key_material


def split(apps, schema_editor):
    signing_key = apps.get_model("identity", "SigningKey")
    signing_key.objects.filter(purpose="access").update(purpose="anonymous")
    algorithm = settings.TOKEN_SIGNING_ALGORITHM
    signing_key.objects.create(
        kid=secrets.token_urlsafe(12),
        purpose="access",
        algorithm=algorithm,
        encrypted_secret=secret_encrypt(signing_key_material(algorithm)),
        is_active=True,
    )


def join(apps, schema_editor):
    signing_key = apps.get_model("identity", "SigningKey")
    signing_key.objects.filter(purpose="access").delete()
    signing_key.objects.filter(purpose="anonymous").update(purpose="access")


class Migration(migrations.Migration):
    dependencies = [("identity", "0006_secrets_encrypted_at_rest")]
    operations = [
        migrations.AlterField(
            model_name="signingkey",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("access", "Access tokens of the token service"),
                    ("anonymous", "Anonymous shopper tokens"),
                    ("context", "Customer contexts"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(split, join),
    ]
