def connect(
    host: str,  # the server
    port: int = 8080,  # TCP port
    # how long to wait
    timeout: float | None = None,
) -> None:  # returns a socket
    pass


def compact(a: int,  # first
            b: int) -> int:
    return a + b


x: int = 1  # a number
