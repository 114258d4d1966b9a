// W2 yield, Node.js: two async functions yield to each other by awaiting a
// setImmediate promise (a trip through the event loop, like asyncio.sleep(0);
// awaiting a resolved promise would only run the microtask queue).
// Usage: node w2_node.js [n].
'use strict';
const n = Number(process.argv[2] || 1000000);
const yieldNow = () => new Promise((resolve) => setImmediate(resolve));

async function yielder(k) {
  for (let i = 0; i < k; i++) await yieldNow();
}

(async () => {
  const half = Math.floor(n / 2);
  const t0 = process.hrtime.bigint();
  await Promise.all([yielder(half), yielder(half)]);
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`RESULT n=${half * 2} elapsed_s=${(ns / 1e9).toFixed(6)} ` +
    `ns_per_switch=${(ns / (half * 2)).toFixed(3)}`);
})();
