from typing import Any

def log(message: str, *args: object, **kwargs: Any) -> None:
    print(message % args, **kwargs)


def merge(*dicts: dict[str, int]) -> dict[str, int]:
    out = {}
    for d in dicts:
        out.update(d)
    return out
