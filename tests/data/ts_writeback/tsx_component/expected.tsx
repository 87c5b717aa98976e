import React from "react";

export function Greeting({ name, excited }: GreetingProps): JSX.Element {
  const punctuation: '!' | '.' = excited ? "!" : ".";
  return <div className="greeting">Hello, {name}{punctuation}</div>;
}

export const List = ({ items }: ListProps): JSX.Element => (
  <ul>
    {items.map((item) => (
      <li key={item.id}>{item.label}</li>
    ))}
  </ul>
);

const identity = <T,>(value: T): T => value;

class Counter extends React.Component {
  state: State = { count: 0 };

  render(): React.ReactNode {
    return <button onClick={() => this.setState({ count: this.state.count + 1 })}>{this.state.count}</button>;
  }
}
