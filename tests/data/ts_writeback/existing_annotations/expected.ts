export function format(value: number, digits?: number): string {
  return value.toFixed(digits);
}

function partial(a: string, b: string): string {
  return a + b;
}

let known: Map<string, number> = new Map();
let unknown: Map<string, number> = new Map();

class Point {
  x: number = 0;
  y: number = 0;
}
