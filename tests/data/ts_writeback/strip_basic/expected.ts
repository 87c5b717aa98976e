import type { Options } from "./options";

export interface Shape {
  area(): number;
  name?: string;
}

export type Pair<T> = [T, T];

declare global {
  interface Window { app: unknown }
}

declare function external(x: number): string;

export function area(shape, scale?, ...rest) {
  return shape.area() * (scale ?? 1);
}

function overloaded(x: string): string;
function overloaded(x: number): number;
function overloaded(x) {
  return x;
}

export class Circle implements Shape {
  static count = 0;
  name?;
  private radius;
  constructor(private readonly r, public label = "c") {
    this.radius = r;
  }
  area() {
    return Math.PI * this.radius ** 2;
  }
  get diameter() {
    return this.radius * 2;
  }
  isBig(this: Circle) {
    return this.radius > 10;
  }
}

let total = 0, late;
const scaled = (x) => x * 2;
const ok = (x) => {};
const fn = (a) => String(a);
items.map((item: Item) => item.id);
