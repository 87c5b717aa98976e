import React from "react";

type Props = { name: string };

export function Greeting({ name }) {
  const upper = name.toUpperCase();
  return <p title={upper as string}>Hi {name}</p>;
}

export const Badge = (props) => <span>{props.count}</span>;

const generic = <T,>(value) => value;
