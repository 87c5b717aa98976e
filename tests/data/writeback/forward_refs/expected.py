class Tree:
    def __init__(self, left: "Tree | Leaf", right):
        self.left: Tree | Leaf = left
        self.right = right

    def mirror(self) -> "Tree":
        return Tree(self.right, self.left)


def build(leaf: "Leaf") -> Tree:
    return Tree(leaf, leaf)


DEFAULT: "Leaf | None" = None


def visit(node: int) -> "Leaf":
    return Leaf(node)


class Leaf:
    def __init__(self, value):
        self.value = value
