// What the bench worker's fixture and the load test agree a visitor is (no imports: both sides type-check it).

/** One bench visitor: the headers its browser sends and the version it is routed to. */
export interface Visitor {
  headers: Record<string, string>;
  colour: "blue" | "green";
}
