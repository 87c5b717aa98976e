def log(message, *args, **kwargs):
    print(message % args, **kwargs)


def merge(*dicts):
    out = {}
    for d in dicts:
        out.update(d)
    return out
