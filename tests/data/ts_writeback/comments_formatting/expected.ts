/* Ünïcödé before the insertion points: 日本語, emoji 🎉, "strings" with 'quotes'. */
export function   spaced  (  first: number /* why */ ,second: number   ): number   /* returns */ {
  return first+second ; // trailing comment
}

function multiline(
  // leading comment on a parameter
  alpha: string | null,
  beta: string, // trailing after beta
): string {
  return alpha ?? beta;
}

const café: string = "crème", naïve: number=1;
let π: number ;

export default function (x: unknown): unknown { return x }
