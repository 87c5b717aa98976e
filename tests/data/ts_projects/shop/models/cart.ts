import { Product } from "./product.js";

export class CartLine<T extends Product = Product> {
  constructor(readonly product: T, public quantity = 1) {}

  get total() {
    return this.product.price * this.quantity;
  }
}

export class Cart<T extends Product> {
  private lines: CartLine<T>[] = [];
  owner;
  coupon: string | undefined;

  constructor(owner) {
    this.owner = owner;
  }

  add(product: T, quantity?) {
    const existing = this.lines.find((line) => line.product.id === product.id);
    if (existing) {
      existing.quantity += quantity ?? 1;
      return existing;
    }
    const line = new CartLine(product, quantity);
    this.lines.push(line);
    return line;
  }

  remove(...ids) {
    this.lines = this.lines.filter((line) => !ids.includes(line.product.id));
  }

  subtotal() {
    let sum = 0;
    for (const line of this.lines) {
      sum += line.total;
    }
    return sum;
  }

  total(shipping = 0) {
    return this.subtotal() + shipping;
  }

  snapshot() {
    const items = [...this.lines];
    return { owner: this.owner, items, count: items.length };
  }
}
