"""Types from other project modules: imported under TYPE_CHECKING, quoted where Python evaluates them."""
from __future__ import print_function

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shop.orders import Order
    from decimal import Decimal
    from os import PathLike
    from shop.cart import Cart
    from shop.customers import Customer
    import shop.naming


def load(path: "str | PathLike[str]") -> dict[str, Any]:
    with open(path) as f:
        return json.load(f)


def first_order(customer: "Customer") -> "Order":
    order: Order = customer.orders[0]
    return order


def total(order: "Order", cart: "Cart") -> "Decimal":
    return order.amount + cart.amount


def registry(name: "shop.naming.json"):
    return name
