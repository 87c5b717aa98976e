class Settings:
    # the user's name
    # required
    debug = False


def body_of_declarations():
    # first
    # comment on a
    a = 1
    b = "x"
    return a, b


class OnlyFields:
    # a comment before the field
    # trailing
    pass
