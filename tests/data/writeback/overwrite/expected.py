def scale(value: int, factor: float) -> float:
    return value * factor


count: float = 0
ratio: float = 0.5
