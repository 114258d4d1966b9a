// W3 spawn, Node.js: queue n trivial async functions with setImmediate (all
// queued before any runs), then wait until the last has finished.  Pass 2
// repeats it in the same process.  Usage: node w3_node.js [n].
'use strict';
const n = Number(process.argv[2] || 1000000);
let done = 0;
let finished;

async function trivial() {
  if (++done === n) finished();
}

async function pass() {
  done = 0;
  const t0 = process.hrtime.bigint();
  const all = new Promise((resolve) => { finished = resolve; });
  for (let i = 0; i < n; i++) setImmediate(trivial);
  await all;
  return Number(process.hrtime.bigint() - t0);
}

(async () => {
  const rss0 = process.resourceUsage().maxRSS; // KiB
  const cold = await pass();
  const rss1 = process.resourceUsage().maxRSS;
  const warm = await pass();
  console.log(`RESULT n=${n} ns_per_task=${(cold / n).toFixed(2)} ` +
    `ns_per_task_warm=${(warm / n).toFixed(2)} ` +
    `rss_mib=${(process.resourceUsage().maxRSS / 1024).toFixed(2)} ` +
    `bytes_per_task=${((rss1 - rss0) * 1024 / n).toFixed(1)}`);
})();
