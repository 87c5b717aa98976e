let counter = 0;
const names = ["a", "b"];
var legacy;
let late!: string;
let a = 1, b = "two", c;
for (const item of names) {
  console.log(item);
}
for (let i = 0; i < 3; i++) {}
const { first, second } = { first: 1, second: 2 };
export const handler = () => counter;

function local() {
  let total;
  const seen = new Set();
  return [total, seen];
}
