"""Types from other project modules: imported under TYPE_CHECKING, quoted where Python evaluates them."""
from __future__ import print_function

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shop.orders import Order


def load(path):
    with open(path) as f:
        return json.load(f)


def first_order(customer):
    order = customer.orders[0]
    return order


def total(order, cart):
    return order.amount + cart.amount


def registry(name):
    return name
