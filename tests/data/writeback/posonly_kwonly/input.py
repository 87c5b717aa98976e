def clamp(value, /, low=0, high=1, *, strict=False, label):
    if strict and not low <= value <= high:
        raise ValueError(label)
    return min(max(value, low), high)


class Box:
    def resize(self, width, height, /, *, keep_ratio):
        return width, height
