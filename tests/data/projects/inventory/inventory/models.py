"""Items and the warehouse that stores them."""

import json
from pathlib import Path


class Item:
    """One kind of article on the shelves."""

    def __init__(self, sku, name, price=0.0, tags=None):
        self.sku = sku
        self.name = name
        self.price = price
        self.tags = tags or []
        self.quantity = 0

    def restock(self, count):
        if count <= 0:
            raise ValueError("count must be positive")
        self.quantity += count
        return self.quantity

    def label(self):
        return f"{self.sku}: {self.name} ({self.quantity})"

    def to_dict(self):
        return {"sku": self.sku, "name": self.name, "price": self.price, "tags": list(self.tags)}


class Warehouse:
    """Items by SKU, persisted as JSON."""

    def __init__(self, path):
        self.path = Path(path)
        self.items = {}

    def add(self, item):
        self.items[item.sku] = item
        return item

    def find(self, sku):
        return self.items.get(sku)

    def names(self):
        return sorted(item.name for item in self.items.values())

    def is_empty(self):
        return len(self.items) == 0

    def save(self):
        data = [item.to_dict() for item in self.items.values()]
        self.path.write_text(json.dumps(data, indent=2), encoding="utf-8")

    def load(self):
        if not self.path.exists():
            return 0
        for record in json.loads(self.path.read_text(encoding="utf-8")):
            item = Item(record["sku"], record["name"], record["price"], record["tags"])
            self.add(item)
        return len(self.items)
