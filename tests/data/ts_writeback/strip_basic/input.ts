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

export function area(shape: Shape, scale?: number, ...rest: number[]): number {
  return shape.area() * (scale ?? 1);
}

function overloaded(x: string): string;
function overloaded(x: number): number;
function overloaded(x: any): any {
  return x;
}

export class Circle implements Shape {
  static count: number = 0;
  name?: string;
  private radius!: number;
  constructor(private readonly r : number, public label: string = "c") {
    this.radius = r;
  }
  area(): number {
    return Math.PI * this.radius ** 2;
  }
  get diameter(): number {
    return this.radius * 2;
  }
  isBig(this: Circle): this is Circle {
    return this.radius > 10;
  }
}

let total: number = 0, late!: string;
const scaled = (x: number): number => x * 2;
const ok = (x: unknown): asserts x => {};
const fn: (a: number) => string = (a) => String(a);
items.map((item: Item) => item.id);
