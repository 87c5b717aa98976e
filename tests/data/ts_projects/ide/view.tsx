import { User } from "./store";

export function Badge(label: string, count: number): JSX.Element {
  return <span className="badge">{label}: {count}</span>;
}

export function UserRow(user: User, selected: boolean): JSX.Element {
  const className: string = selected ? "row selected" : "row";
  return <tr className={className}><td>{user.name}</td><td>{user.email}</td></tr>;
}

export function formatName(first: string, last: string): string {
  return `${first} ${last}`;
}

export function percent(part: number, whole: number): string {
  const value: number = whole === 0 ? 0 : (part / whole) * 100;
  return `${value.toFixed(1)}%`;
}

export function visible(items: string[], filter: string): string[] {
  return items.filter((i) => i.includes(filter));
}

export class Counter {
  count: number = 0;
  step: number;
  label: string;

  constructor(step: number, label: string) {
    this.step = step;
    this.label = label;
  }

  increment(): number {
    this.count += this.step;
    return this.count;
  }

  reset(): void {
    this.count = 0;
  }

  render(): JSX.Element {
    return <button>{this.label} {this.count}</button>;
  }
}
