def clamp(value: float, /, low: float = 0, high: float = 1, *, strict: bool = False, label: str) -> float:
    if strict and not low <= value <= high:
        raise ValueError(label)
    return min(max(value, low), high)


class Box:
    def resize(self, width: int, height: int, /, *, keep_ratio: bool) -> tuple[int, int]:
        return width, height
