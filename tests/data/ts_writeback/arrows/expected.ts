export const inc = (x: number): number => x + 1;
export const load = async (url: string): Promise<Response> => fetch(url);
const onlyReturn = (n): number => n * 2;
const twice = (f: (arg0: number) => number, x: number): number => f(f(x));
const body = (a: number, b: number = 1): number => {
  return a + b;
};
const curried = (a: number): (arg0: number) => number => b => a + b;
items.map(item => item.id); // a callback: no slots
