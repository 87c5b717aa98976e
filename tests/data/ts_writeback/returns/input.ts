function add(a: number, b: number) {
  return a + b;
}

async function fetchAll(urls: string[]) {
  return Promise.all(urls.map((u) => fetch(u)));
}

function* count(limit: number) {
  for (let i = 0; i < limit; i++) yield i;
}

class Temperature {
  private celsius = 0;

  get fahrenheit() {
    return this.celsius * 1.8 + 32;
  }

  set fahrenheit(value: number) {
    this.celsius = (value - 32) / 1.8;
  }

  static parse(text: string) {
    return new Temperature();
  }

  async *readings() {
    yield this.celsius;
  }
}

const square = (n: number) => n * n;
const handler = function (event: Event) {
  return event.type;
};
