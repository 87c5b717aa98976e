import functools


class Temperature:
    def __init__(self, celsius: float):
        self._celsius: float = celsius

    @property
    def celsius(self) -> float:
        return self._celsius

    @celsius.setter
    def celsius(self, value: float) -> None:
        self._celsius = value

    @staticmethod
    def convert(value: float, scale: float):
        return value * scale

    @classmethod
    def freezing(cls, offset: float) -> "Temperature":
        return cls(0.0 + offset)

    @functools.lru_cache(maxsize=None)
    def fahrenheit(self) -> float:
        return self._celsius * 9 / 5 + 32
