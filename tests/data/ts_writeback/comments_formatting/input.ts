/* Ünïcödé before the insertion points: 日本語, emoji 🎉, "strings" with 'quotes'. */
export function   spaced  (  first /* why */ ,second   )   /* returns */ {
  return first+second ; // trailing comment
}

function multiline(
  // leading comment on a parameter
  alpha,
  beta, // trailing after beta
) {
  return alpha ?? beta;
}

const café = "crème", naïve=1;
let π ;

export default function (x) { return x }
