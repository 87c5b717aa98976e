export function greet(name, times = 1) {
  // CRLF line endings are kept
  return name.repeat(times);
}

const total = 3;
const twice = x => x * 2;
