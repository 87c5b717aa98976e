from __future__ import annotations
from collections.abc import Callable


class Node:
    def __init__(self, parent: Node | None, children: list[Node]):
        self.parent = parent
        self.children: list[Node] = children

    def root(self) -> Node:
        return self if self.parent is None else self.parent.root()


def walk(node: Node, visit: Callable[[Node], None]) -> None:
    visit(node)
    for child in node.children:
        walk(child, visit)
