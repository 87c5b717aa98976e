from __future__ import annotations


class Node:
    def __init__(self, parent, children):
        self.parent = parent
        self.children = children

    def root(self):
        return self if self.parent is None else self.parent.root()


def walk(node, visit):
    visit(node)
    for child in node.children:
        walk(child, visit)
