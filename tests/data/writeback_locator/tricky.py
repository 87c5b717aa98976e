"""Corner cases for slot numbering and picking (the locator must agree with typetool.slots)."""
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from os import PathLike

global shadow_at_module
shadow_at_module = 1

for i in range(3):
    def in_loop(a):
        return a
    class InLoop:
        x = 1
    loop_var = i
else:
    after_loop = 0

while False:
    def in_while(b):
        pass
    break


def A():
    return 1


class A:  # noqa: F811  (a class after a def of the same name: A@2)
    first, second = 1, 2
    first = 3
    chained = other = 4
    counter = 0
    counter += 1
    annotated: int
    annotated = 5
    (paren) = 6
    if True:
        branch = 1
    else:
        branch = 2

    def method(self, *args, **kw):
        self.x = 1
        self.y = self.z = 2
        self.w, self.v = 1, 2
        self.bare: int
        [0 for self.comp in range(2)]
        for self.loop in range(2):
            pass

        def inner():
            self.not_an_attribute = 1

        inner()

    def method(self):  # noqa: F811 (method@2)
        self.x = 2

    @property
    def prop(self):
        return self._prop

    @prop.setter
    def prop(self, value):
        self._prop = value

    @staticmethod
    def static(a, b):
        a.attr = 1
        return b

    @classmethod
    def klass(cls, c):
        cls.from_classmethod = c

    def star_first(*args):
        args.odd = 1

    def only_kwonly(*, key):
        pass

    def method_name():
        pass

    method_name = property(method_name)

    class Nested:
        n = 1

        def go(self, d):
            self.depth = d


def scopes(p, q=1, *rest, r, **opts):
    global shadow_at_module, declared_later
    shadow_at_module = 2
    declared_later = 3
    local = 1
    local = 2
    local: int = 3
    a = b = 4
    c, d = 5, 6
    (e) = 7
    p = 8
    f: str
    f = "x"
    g = 1; h = 2
    with open(p) as handle:
        inside_with = handle
    try:
        risky = 1
    except ValueError as err:
        handled = err
    else:
        fine = 2
    finally:
        last = 3
    if (walrus := 5) > 1:
        pass
    match q:
        case [first_item, *others]:
            matched = first_item
        case {"k": value, **rest_of_it}:
            matched = value
        case _:
            matched = None
    del g
    lam = lambda z: z + 1  # noqa: E731

    def closure(m):
        nonlocal local
        local = m
        mine = m
        return mine

    class Local:
        inside = 1

        def meth(self, n):
            self.attr = n
            return n

    return closure, Local, lam


if TYPE_CHECKING:
    def only_for_checkers(x):
        pass
    checker_var = 1
elif False:
    def only_for_checkers(x):  # noqa: F811
        pass


async def coroutine(u, /, v):
    async for item in u:
        got = item
    async with v as ctx:
        used = ctx
    return used


class Outer:
    class Inner:
        class Deepest:
            level = 3

            def deep(self, k):
                self.k = k


class Outer:  # noqa: F811
    again = 1


shadow_at_module: int = 5
