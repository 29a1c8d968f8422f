"""The composition root: the settings, the URL map that puts the apps' endpoints together,
wsgi/asgi, the health checks and the request middleware. Nothing imports it but Django; the
shared kernel is ``core``."""
