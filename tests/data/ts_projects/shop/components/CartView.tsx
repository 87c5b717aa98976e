import { Cart } from "../models";
import { formatPrice } from "../pricing";
import quickBuy from "../api";

type Props = { cart: Cart<any>; title?: string };

export const LineItem = ({ line, onRemove }) => (
  <li className="line">
    {line.product.name} x {line.quantity}
    <button onClick={() => onRemove(line.product.id)}>remove</button>
  </li>
);

export default function CartView({ cart, title = "Your cart" }: Props, email?) {
  const snapshot = cart.snapshot();
  const handleRemove = id => cart.remove(id);
  const checkout = async () => {
    const result = await quickBuy(email, ...snapshot.items.map((line) => line.product.id));
    console.log(`ordered ${result.attempts}`);
  };
  return (
    <section>
      <h2>{title}</h2>
      <ul>
        {snapshot.items.map((line) => <LineItem line={line} onRemove={handleRemove} />)}
      </ul>
      <p>{formatPrice(cart.total())}</p>
      <button onClick={checkout}>buy</button>
    </section>
  );
}
