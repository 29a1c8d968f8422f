"""The orders domain's services. They take plain ids and values, never a request or a token:
each surface's views turn their caller into those.

- ``placement``: ``order_place_from_cart`` (a shopper's checkout) and ``order_place_from_lines``
  (a partner's lines), on one path of pricing, stock and order numbers;
- ``transitions``: ``order_transition`` for every move of ``orders.states``' state machines.
"""

from orders.services.placement import (
    LineRequest,
    PlacedOrder,
    order_place_from_cart,
    order_place_from_lines,
    order_placed_emit,
)
from orders.services.transitions import (
    order_qs_select_for_update,
    order_transition,
    order_transition_locked,
)

__all__ = [
    "LineRequest",
    "PlacedOrder",
    "order_place_from_cart",
    "order_place_from_lines",
    "order_placed_emit",
    "order_qs_select_for_update",
    "order_transition",
    "order_transition_locked",
]
