class Config:
    str = "name"

    def list(self):
        return []

    def render(self, value):
        return value

    def items(self, count):
        return [self.str] * count


def convert(data):
    dict = {}
    dict.update(data)
    return dict
