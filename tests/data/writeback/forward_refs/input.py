class Tree:
    def __init__(self, left, right):
        self.left = left
        self.right = right

    def mirror(self):
        return Tree(self.right, self.left)


def build(leaf):
    return Tree(leaf, leaf)


DEFAULT = None


def visit(node):
    return Leaf(node)


class Leaf:
    def __init__(self, value):
        self.value = value
