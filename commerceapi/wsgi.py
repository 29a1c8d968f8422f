import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerceapi.settings")
django_application = get_wsgi_application()

from core.chunked_bodies import chunked_bodies_read  # noqa: E402 - needs the settings above

application = chunked_bodies_read(django_application)
