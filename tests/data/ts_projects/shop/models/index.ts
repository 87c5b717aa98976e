export * from "./product";
export * from "./cart";
export { default as productKey } from "./product";
