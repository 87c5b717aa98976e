import functools


class Temperature:
    def __init__(self, celsius):
        self._celsius = celsius

    @property
    def celsius(self):
        return self._celsius

    @celsius.setter
    def celsius(self, value):
        self._celsius = value

    @staticmethod
    def convert(value, scale):
        return value * scale

    @classmethod
    def freezing(cls, offset):
        return cls(0.0 + offset)

    @functools.lru_cache(maxsize=None)
    def fahrenheit(self):
        return self._celsius * 9 / 5 + 32
