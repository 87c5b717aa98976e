def legacy(a, b):
    # type: (int, int) -> int
    return a + b


values = []  # type: list[int]
other: list[int] = []  # type: ignore[var-annotated]
