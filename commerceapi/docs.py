"""The interactive docs page (Swagger UI) over the served schema."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.views import SpectacularSwaggerView


class DocsPageView(SpectacularSwaggerView):
    def options(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """An HTML page has no metadata for DRF to describe (its renderer would need a
        template): answer what it allows."""
        return HttpResponse(status=200, headers={"Allow": "GET, HEAD, OPTIONS"})
