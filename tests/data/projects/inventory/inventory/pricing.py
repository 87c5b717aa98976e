"""Prices, discounts and totals."""

from .models import Item, Warehouse

DEFAULT_RATE = 0.1


def apply_discount(price, rate=DEFAULT_RATE):
    if not 0 <= rate < 1:
        raise ValueError("rate must be in [0, 1)")
    return round(price * (1 - rate), 2)


def total_price(warehouse, skus):
    total = 0.0
    for sku in skus:
        item = warehouse.find(sku)
        if item is None:
            continue
        total += item.price * item.quantity
    return total


def cheapest(items):
    best = None
    for item in items:
        if best is None or item.price < best.price:
            best = item
    return best


def demo():
    store = Warehouse("stock.json")
    widget = store.add(Item("W-1", "widget", 2.5, ["small"]))
    widget.restock(10)
    return total_price(store, ["W-1"]), apply_discount(widget.price), cheapest([widget])
