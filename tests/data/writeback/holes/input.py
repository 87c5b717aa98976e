def parse(text, hooks):
    data = {}
    return data


def call(fn, value):
    return fn(value)


def mode(flag):
    return "r" if flag else 1


def anything(x):
    return x
