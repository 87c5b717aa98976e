import re
from typing import cast, Any, Optional, Pattern
from collections.abc import Callable, Iterator, Mapping, Sequence


def pick(items: Sequence[Any], key: Callable[[Any], str]) -> str:
    return cast(str, key(items[0]))


def pairs(mapping: Mapping[str, int]) -> Iterator[tuple[str, int]]:
    for k, v in mapping.items():
        yield k, v


def search(pattern: str | Pattern[str], text: str) -> Optional[re.Match[str]]:
    return re.search(pattern, text)
