"""A file with a syntax error in the middle: the rest is still analysed."""


def parse_port(text):
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(port)
    return port


def broken(config:
    return config["host"]


class Server:
    def __init__(self, host, port=8080):
        self.host = host
        self.port = parse_port(port)

    def address(self):
        return f"{self.host}:{self.port}"
