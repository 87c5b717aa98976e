export class Queue {
  static instances = 0;
  items = [];
  head?;
  tail!;
  readonly capacity = 16;
  private size = 0;
  #secret = "s";
  declare extra;
  onChange = (q) => q.size;

  push(item) {
    this.items.push(item);
  }
}

const Anon = class {
  value = 1;
};
