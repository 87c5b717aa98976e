from typing import Callable, Dict, List, Optional

def group(rows: List[Dict[str, int]], key: Callable[[Dict[str, int]], str]) -> Dict[str, List[Dict[str, int]]]:
    out: Dict[str, List[Dict[str, int]]] = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return out


def first(rows: List[int]) -> Optional[int]:
    return rows[0] if rows else None
