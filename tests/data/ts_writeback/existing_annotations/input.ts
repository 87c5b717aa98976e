export function format(value: number, digits?: number): string {
  return value.toFixed(digits);
}

function partial(a: string, b) {
  return a + b;
}

let known: Map<string, number> = new Map();
let unknown = new Map();

class Point {
  x: number = 0;
  y = 0;
}
