import { Cart, Product } from "./models";

export const TAX_RATE = 0.2;

export const round = (value, digits = 2) => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

export const withTax = (amount: number): number => round(amount * (1 + TAX_RATE));

export const discounts = {
  percent(price, pct) {
    return price - (price * pct) / 100;
  },
  fixed: (price, amount) => Math.max(0, price - amount),
  label(kind) {
    return `discount: ${kind}`;
  },
};

export function applyDiscount(price, discount) {
  if (typeof discount === "number") {
    return discounts.fixed(price, discount);
  }
  if (typeof discount === "string" && discount.endsWith("%")) {
    return discounts.percent(price, parseFloat(discount));
  }
  return price;
}

export function priceOf(item) {
  if (item instanceof Product) {
    return item.price;
  }
  return item.reduce((sum, p) => sum + p.price, 0);
}

export function cartTotal(cart: Cart<Product>, coupon?) {
  const gross = cart.total();
  const net = coupon ? applyDiscount(gross, coupon) : gross;
  return withTax(net);
}

export function findProduct(products: Product[], id, index = 0): Product | undefined {
  if (index >= products.length) {
    return undefined;
  }
  if (products[index].id === id) {
    return products[index];
  }
  return findProduct(products, id, index + 1);
}

export function formatPrice(amount, currency = "EUR") {
  const text = round(amount).toFixed(2);
  return `${text} ${currency}`;
}
