def connect(
    host,  # the server
    port=8080,  # TCP port
    # how long to wait
    timeout=None,
):  # returns a socket
    pass


def compact(a,  # first
            b):
    return a + b


x = 1  # a number
