let counter: number = 0;
const names: string[] = ["a", "b"];
var legacy: any[];
let late!: string;
let a: number = 1, b: string = "two", c: boolean | null;
for (const item of names) {
  console.log(item);
}
for (let i: number = 0; i < 3; i++) {}
const { first, second } = { first: 1, second: 2 };
export const handler = (): number => counter;

function local(): [number | undefined, Set<string>] {
  let total: number | undefined;
  const seen: Set<string> = new Set();
  return [total, seen];
}
