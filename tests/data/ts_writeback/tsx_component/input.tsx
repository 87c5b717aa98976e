import React from "react";

export function Greeting({ name, excited }) {
  const punctuation = excited ? "!" : ".";
  return <div className="greeting">Hello, {name}{punctuation}</div>;
}

export const List = ({ items }) => (
  <ul>
    {items.map((item) => (
      <li key={item.id}>{item.label}</li>
    ))}
  </ul>
);

const identity = <T,>(value) => value;

class Counter extends React.Component {
  state = { count: 0 };

  render() {
    return <button onClick={() => this.setState({ count: this.state.count + 1 })}>{this.state.count}</button>;
  }
}
