from collections.abc import Callable

def sort_by(items: list[tuple[int, str]], key: Callable[[tuple[int, str]], int] = lambda item: item[0], reverse: bool = False) -> list[tuple[int, str]]:
    return sorted(items, key=key, reverse=reverse)


handlers: dict[str, Callable[[str], str]] = {"upper": lambda s: s.upper()}
