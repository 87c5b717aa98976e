counter = 0


def increment(step):
    global counter
    counter = counter + step
    return counter


def outer():
    total = 0

    def add(n):
        nonlocal total
        total = total + n
        return total

    return add
