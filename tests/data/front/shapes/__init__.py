"""Shapes with areas and a registry."""

from .base import Shape
from .circle import Circle, Ring

__all__ = ["Shape", "Circle", "Ring"]
