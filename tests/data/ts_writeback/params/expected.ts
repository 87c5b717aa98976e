// Parameters of every shape.
export function connect(host: string, port?: number, ...options: string[]): string {
  return `${host}:${port ?? 80}`;
}

function scale({ width, height }: Size, [dx, dy]: [number, number], factor: number = 2): Record<string, number> {
  return { w: width * factor + dx, h: height * factor + dy };
}

function bound(this: Window, label: string | undefined): string | undefined {
  return label;
}

class Account {
  constructor(private readonly owner: string, public balance: number = 0, protected id?: string | number) {}

  deposit(amount: number, note: string = ""): string {
    this.balance += amount;
    return note;
  }
}

function pick(key: string): string;
function pick(key: number): number;
function pick(key): 'a' | 1 {
  return key;
}
