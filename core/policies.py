"""Vocabulary two apps share: a storefront app chooses how carts merge, the carts app merges."""

from __future__ import annotations

from django.db import models


class CartMergePolicy(models.TextChoices):
    """How an anonymous cart's lines join the customer's cart when the shopper signs in."""

    MAX = "max", "The larger quantity of a SKU in both carts"
    SUM = "sum", "Both quantities added"
    ANONYMOUS_WINS = "anonymous_wins", "The anonymous cart's lines replace the customer's"
    CUSTOMER_WINS = "customer_wins", "Only SKUs the customer's cart lacks are added"
