export const inc = x => x + 1;
export const load = async url => fetch(url);
const onlyReturn = n => n * 2;
const twice = (f, x) => f(f(x));
const body = (a, b = 1) => {
  return a + b;
};
const curried = a => b => a + b;
items.map(item => item.id); // a callback: no slots
