class Settings:
    # the user's name
    name: str  # required
    debug = False


def body_of_declarations():
    # first
    a: int  # comment on a
    a = 1
    b: str
    b = "x"
    return a, b


class OnlyFields:
    # a comment before the field
    value: int  # trailing
