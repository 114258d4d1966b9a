// W5 timer accuracy, Node.js: await a 1 ms setTimeout promise n times in a
// row and record by how much each overshot.  Usage: node w5_node.js [n].
'use strict';
const n = Number(process.argv[2] || 1000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Nearest rank, the same integer rank as bench.h: ceil(pm*n/1000)-1.
const percentile = (v, pm) => v[Math.max(Math.floor((pm * v.length + 999) / 1000) - 1, 0)];

(async () => {
  const over = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await sleep(1);
    over.push(Number(process.hrtime.bigint() - t - 1000000n) / 1e3);
  }
  over.sort((a, b) => a - b); // numeric: the default sort compares strings
  console.log(`RESULT n=${n} median_us=${percentile(over, 500).toFixed(1)} ` +
    `p99_us=${percentile(over, 990).toFixed(1)} max_us=${over[n - 1].toFixed(1)}`);
})();
