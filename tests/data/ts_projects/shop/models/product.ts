/** Products sold in the shop. */

export type Currency = "EUR" | "USD";

export interface Priced {
  price: number;
  currency: Currency;
}

let nextId = 1;

/** A physical product with a stock count. */
export class Product implements Priced {
  static registry = new Map();
  readonly id = nextId++;
  currency: Currency = "EUR";
  tags;
  private _stock = 0;
  discontinued?: boolean;

  constructor(public name: string, public price, tags = []) {
    this.tags = tags;
    Product.registry.set(this.id, this);
  }

  get stock() {
    return this._stock;
  }

  set stock(value) {
    if (value < 0) {
      throw new RangeError(`negative stock for ${this.name}`);
    }
    this._stock = value;
  }

  describe(): string {
    return `${this.name} (${this.price.toFixed(2)} ${this.currency})`;
  }

  isAvailable() {
    return !this.discontinued && this._stock > 0;
  }

  rename(name) {
    this.name = name.trim();
  }

  static find(id) {
    return Product.registry.get(id);
  }
}

/** A download: never out of stock. */
export class DigitalProduct extends Product {
  url!: string;

  constructor(name, price, url) {
    super(name, price);
    this.url = url;
  }

  describe() {
    return `${super.describe()} [download]`;
  }

  isAvailable() {
    return true;
  }

  move(url: string, name?) {
    this.url = url;
    if (name) {
      this.rename(name);
    }
  }
}

export default function productKey(product) {
  return `${product.id}:${product.name.toLowerCase()}`;
}
