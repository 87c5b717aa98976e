export class Queue {
  static instances: number = 0;
  items: T[] = [];
  head?: Node<T>;
  tail!: Node<T>;
  readonly capacity: number = 16;
  private size: number = 0;
  #secret: string = "s";
  declare extra: unknown;
  onChange = (q: Queue): number => q.size;

  push(item: T): void {
    this.items.push(item);
  }
}

const Anon = class {
  value: number = 1;
};
