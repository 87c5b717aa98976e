import React from "react";

type Props = { name: string };

export function Greeting({ name }: Props): JSX.Element {
  const upper: string = name.toUpperCase();
  return <p title={upper as string}>Hi {name}</p>;
}

export const Badge = (props: { count: number }): JSX.Element => <span>{props.count}</span>;

const generic = <T,>(value: T): T => value;
