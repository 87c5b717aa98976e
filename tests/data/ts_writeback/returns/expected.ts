function add(a: number, b: number): number {
  return a + b;
}

async function fetchAll(urls: string[]): Promise<Response[]> {
  return Promise.all(urls.map((u) => fetch(u)));
}

function* count(limit: number): Generator<number, void, any> {
  for (let i: number = 0; i < limit; i++) yield i;
}

class Temperature {
  private celsius: number = 0;

  get fahrenheit(): number {
    return this.celsius * 1.8 + 32;
  }

  set fahrenheit(value: number) {
    this.celsius = (value - 32) / 1.8;
  }

  static parse(text: string): Temperature {
    return new Temperature();
  }

  async *readings(): AsyncGenerator<number> {
    yield this.celsius;
  }
}

const square = (n: number): number => n * n;
const handler = function (event: Event): string {
  return event.type;
};
