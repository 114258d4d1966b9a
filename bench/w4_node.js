// W4 sleepers, Node.js: n async functions each await a setTimeout promise
// of a pseudo-random 0..1000 ms (bench.h's xorshift32 sequence).
// Usage: node w4_node.js [n].
'use strict';
const n = Number(process.argv[2] || 1000000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sleeper(ms) {
  await sleep(ms);
}

(async () => {
  const rss0 = process.resourceUsage().maxRSS; // KiB
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let x = 42;
  let sum = 0;
  const tasks = new Array(n);
  for (let i = 0; i < n; i++) {
    // 32-bit unsigned xorshift: >>> 0 keeps every step in 0..2^32-1.
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    const ms = x % 1001;
    sum += ms;
    tasks[i] = sleeper(ms);
  }
  const tSpawned = process.hrtime.bigint();
  await Promise.all(tasks);
  const t1 = process.hrtime.bigint();
  const c = process.cpuUsage(c0);
  const rss1 = process.resourceUsage().maxRSS;
  console.log(`RESULT n=${n} created=${n} ` +
    `total_ms=${(Number(t1 - t0) / 1e6).toFixed(1)} ` +
    `spawn_ms=${(Number(tSpawned - t0) / 1e6).toFixed(1)} ` +
    `cpu_ms=${((c.user + c.system) / 1e3).toFixed(1)} ` +
    `rss_mib=${(rss1 / 1024).toFixed(2)} ` +
    `bytes_per_task=${((rss1 - rss0) * 1024 / n).toFixed(1)} sum_ms=${sum}`);
})();
