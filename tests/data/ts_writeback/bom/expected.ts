export function size(items: readonly unknown[]): number {
  return items.length;
}

let label: string = "böm";
