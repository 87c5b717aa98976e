import re
from typing import cast


def pick(items, key):
    return cast(str, key(items[0]))


def pairs(mapping):
    for k, v in mapping.items():
        yield k, v


def search(pattern, text):
    return re.search(pattern, text)
