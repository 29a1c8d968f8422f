"""Helpers of the cart migration tests (test_migration_api, test_migration_merge)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalog.models import Product

CaptureOnCommit = Callable[..., Any]
Catalog = dict[str, Product]
