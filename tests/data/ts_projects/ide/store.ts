export type Id = string;

export class User {
  id: Id;
  name: string;
  email: string;
  age: number;
  active: boolean = true;
  tags: string[] = [];

  constructor(id: Id, name: string, email: string, age: number) {
    this.id = id;
    this.name = name;
    this.email = email;
    this.age = age;
  }

  greet(greeting: string): string {
    return `${greeting}, ${this.name}`;
  }

  isAdult(): boolean {
    return this.age >= 18;
  }

  addTag(tag: string): void {
    this.tags.push(tag);
  }

  hasTag(tag: string): boolean {
    return this.tags.includes(tag);
  }

  deactivate(): void {
    this.active = false;
  }
}

export class Store {
  private users: Map<string, User> = new Map();
  count: number = 0;
  name: string;
  readonly createdAt: Date = new Date();

  constructor(name: string) {
    this.name = name;
  }

  add(user: User): void {
    this.users.set(user.id, user);
    this.count += 1;
  }

  get(id: string): User | undefined {
    return this.users.get(id);
  }

  has(id: string): boolean {
    return this.users.has(id);
  }

  remove(id: string): boolean {
    return this.users.delete(id);
  }

  all(): User[] {
    return [...this.users.values()];
  }

  emails(): string[] {
    return this.all().map((u) => u.email);
  }

  size(): number {
    return this.users.size;
  }

  async load(url: string): Promise<void> {
    const response: Response = await fetch(url);
    const rows: any[] = await response.json();
    for (const row of rows) {
      this.add(new User(row.id, row.name, row.email, row.age));
    }
  }

  async save(url: string): Promise<boolean> {
    const body: string = JSON.stringify(this.all());
    const response: Response = await fetch(url, { method: "POST", body });
    return response.ok;
  }

  find(predicate: (user: User) => boolean): User[] {
    return this.all().filter(predicate);
  }

  byAge(min: number, max: number): User[] {
    return this.find((u) => u.age >= min && u.age <= max);
  }

  names(): string[] {
    return this.all().map((u) => u.name);
  }

  clear(): void {
    this.users.clear();
    this.count = 0;
  }
}

export function makeUser(name: string, age: number): User {
  const id: string = name.toLowerCase();
  return new User(id, name, `${id}@example.com`, age);
}

export function oldest(users: User[]): User | null {
  let best: User | null = null;
  for (const u of users) {
    if (best === null || u.age > best.age) {
      best = u;
    }
  }
  return best;
}

export function totalAge(users: User[]): number {
  let total: number = 0;
  for (const u of users) {
    total += u.age;
  }
  return total;
}

export async function fetchText(url: string): Promise<string> {
  const response: Response = await fetch(url);
  return response.text();
}

export async function fetchCount(url: string, retries: number): Promise<number> {
  const text: string = await fetchText(url);
  const value: number = parseInt(text, 10);
  return isNaN(value) && retries > 0 ? fetchCount(url, retries - 1) : value;
}

export function byId(users: User[]): Record<string, User> {
  const out: Record<string, User> = {};
  for (const u of users) {
    out[u.id] = u;
  }
  return out;
}

export function isEmpty(text: string): boolean {
  return text.length === 0;
}

export function pad(text: string, width: number): string {
  return text.padStart(width);
}

export function join(parts: string[]): string {
  return parts.join("/");
}

export const defaultStore: Store = new Store("default");
export const maxUsers: number = 100;
export let lastError: string | null = null;
