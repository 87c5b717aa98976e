export function greet(name: string, times: number = 1): string {
  // CRLF line endings are kept
  return name.repeat(times);
}

const total: number = 3;
const twice = (x: number): number => x * 2;
