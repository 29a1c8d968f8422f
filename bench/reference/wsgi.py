"""The reference as a WSGI application, served by the same server as the API."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.reference.settings"
application = get_wsgi_application()
