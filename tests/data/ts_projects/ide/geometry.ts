/** Small annotated TypeScript module: the corpus the tiny TypeScript test model learns from. */

export interface Point {
  x: number;
  y: number;
}

export class Vector {
  x: number;
  y: number;
  label: string = "";
  visible: boolean = true;

  constructor(x: number, y: number) {
    this.x = x;
    this.y = y;
  }

  length(): number {
    return Math.sqrt(this.x * this.x + this.y * this.y);
  }

  scale(factor: number): Vector {
    return new Vector(this.x * factor, this.y * factor);
  }

  add(other: Vector): Vector {
    return new Vector(this.x + other.x, this.y + other.y);
  }

  equals(other: Vector): boolean {
    return this.x === other.x && this.y === other.y;
  }

  toString(): string {
    return `(${this.x}, ${this.y})`;
  }

  rename(label: string): void {
    this.label = label;
  }

  hide(): void {
    this.visible = false;
  }
}

export function distance(a: Point, b: Point): number {
  const dx: number = a.x - b.x;
  const dy: number = a.y - b.y;
  return Math.sqrt(dx * dx + dy * dy);
}

export function midpoint(a: Point, b: Point): Point {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

export function isZero(value: number): boolean {
  return value === 0;
}

export function describe(name: string, count: number): string {
  const plural: string = count === 1 ? "" : "s";
  return `${count} ${name}${plural}`;
}

export function sum(values: number[]): number {
  let total: number = 0;
  for (const v of values) {
    total += v;
  }
  return total;
}

export function average(values: number[]): number {
  const n: number = values.length;
  return n === 0 ? 0 : sum(values) / n;
}

export function names(items: string[], sep: string): string {
  return items.join(sep);
}

export function parseNumbers(text: string): number[] {
  const parts: string[] = text.split(",");
  return parts.map((p) => parseFloat(p));
}

export function countWords(text: string): Map<string, number> {
  const counts: Map<string, number> = new Map();
  for (const word of text.split(" ")) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

export function unique(values: string[]): Set<string> {
  return new Set(values);
}

export function flag(enabled: boolean, name: string): string {
  return enabled ? name : "";
}

export function toggle(enabled: boolean): boolean {
  return !enabled;
}

export function repeat(text: string, times: number): string {
  return text.repeat(times);
}

export function upper(text: string): string {
  return text.toUpperCase();
}

export function firstOf(items: string[]): string | undefined {
  return items[0];
}

export function indexOf(items: string[], item: string): number {
  return items.indexOf(item);
}

export function log(message: string): void {
  console.log(message);
}

export function warn(message: string, code: number): void {
  console.warn(`${code}: ${message}`);
}

export const origin: Point = { x: 0, y: 0 };
export const unit: number = 1;
export const title: string = "geometry";
export let debug: boolean = false;
