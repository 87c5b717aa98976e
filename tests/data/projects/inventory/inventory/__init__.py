"""A small inventory library, bundled with typetool as an unannotated example project."""

from .models import Item, Warehouse
from .pricing import apply_discount, total_price

__all__ = ["Item", "Warehouse", "apply_discount", "total_price"]
