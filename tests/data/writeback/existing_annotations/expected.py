def scale(value: float, factor: float) -> float:
    return value * factor


count: int = 0
ratio: float = 0.5
