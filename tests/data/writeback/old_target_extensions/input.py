"""Names newer than the target Python come from typing_extensions, under TYPE_CHECKING (it may not be installed)."""


class Builder:
    def copy(self):
        return self

    def options(self, extra):
        return extra
