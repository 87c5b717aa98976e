export function size(items) {
  return items.length;
}

let label = "böm";
