def sort_by(items, key=lambda item: item[0], reverse=False):
    return sorted(items, key=key, reverse=reverse)


handlers = {"upper": lambda s: s.upper()}
