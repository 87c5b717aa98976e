from typing import Optional

LIMIT = 10


class Account:
    balance = 0.0

    def __init__(self, owner, balance=0.0):
        self.owner = owner
        self.balance = balance

    def deposit(self, amount, *notes, **meta):
        total = self.balance + amount
        self.balance = total; count = 1
        return total


def declare_only():
    if LIMIT:
        result = 1
    else:
        result = 2
    print(result)


def only_declaration():
    ghost: int
    print("ghost is local here")
