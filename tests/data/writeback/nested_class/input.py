class Outer:
    class Inner:
        size = 1

        def grow(self, by):
            self.size = self.size + by
            return self

    def make(self, size):
        inner = Outer.Inner()
        inner.size = size
        return inner
