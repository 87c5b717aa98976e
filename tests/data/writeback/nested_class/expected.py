class Outer:
    class Inner:
        size: int = 1

        def grow(self, by: int) -> "Outer.Inner":
            self.size = self.size + by
            return self

    def make(self, size: int) -> "Outer.Inner":
        inner: Outer.Inner = Outer.Inner()
        inner.size = size
        return inner
