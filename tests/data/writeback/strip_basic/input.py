from typing import Optional

LIMIT: int = 10
pending: list[str]


class Account:
    owner: str
    balance: float = 0.0

    def __init__(self, owner: str, balance: float = 0.0) -> None:
        self.owner = owner
        self.balance: float = balance
        self.history: list[float]

    def deposit(self, amount: float, *notes: str, **meta: object) -> Optional[float]:
        total: float = self.balance + amount
        self.balance = total; count: int = 1
        return total


def declare_only() -> None:
    result: int
    if LIMIT:
        result = 1
    else:
        result = 2
    print(result)


def only_declaration():
    ghost: int
    print("ghost is local here")
