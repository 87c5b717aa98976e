def area(width: float, height):
    return width * height
