class Config:
    str = "name"

    def list(self):
        return []

    def render(self, value):
        return value

    def items(self, count: int):
        return [self.str] * count


def convert(data: dict[str, int]) -> dict[str, int]:
    dict = {}
    dict.update(data)
    return dict
