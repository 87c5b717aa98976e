def scale(value: float, factor) -> float:
    return value * factor


count: int = 0
ratio = 0.5
