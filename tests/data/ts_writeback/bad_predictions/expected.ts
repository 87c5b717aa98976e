export function parse(text: string, strict) {
  return JSON.parse(text);
}

const cache = new Map();
let value: Map<any, any[]>;
let other: A & (B | C);
