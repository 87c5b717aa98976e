// Parameters of every shape.
export function connect(host, port?, ...options) {
  return `${host}:${port ?? 80}`;
}

function scale({ width, height }, [dx, dy], factor = 2) {
  return { w: width * factor + dx, h: height * factor + dy };
}

function bound(this: Window, label) {
  return label;
}

class Account {
  constructor(private readonly owner, public balance = 0, protected id?) {}

  deposit(amount, note = "") {
    this.balance += amount;
    return note;
  }
}

function pick(key: string): string;
function pick(key: number): number;
function pick(key) {
  return key;
}
