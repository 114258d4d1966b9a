// W7 timeout churn, Node.js: 10,000 other timers armed 10-20 s away, then n
// awaits of an already resolved promise, each under a fresh 10 s setTimeout
// cleared when the await completes (see w7_async.c).  Usage: node w7_node.js [n].
'use strict';
const n = Number(process.argv[2] || 1000000);

(async () => {
  let x = 42;
  let fired = 0;
  const others = [];
  for (let i = 0; i < 10000; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    others.push(setTimeout(() => { fired++; }, 10000 + (x % 1001) * 10));
  }
  const ready = Promise.resolve();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const deadline = setTimeout(() => { fired++; }, 10000);
    await ready;
    clearTimeout(deadline);
  }
  const t1 = process.hrtime.bigint();
  const c = process.cpuUsage(c0);
  for (const t of others) clearTimeout(t);
  const ns = Number(t1 - t0);
  console.log(`RESULT n=${n} ns_per_await=${(ns / n).toFixed(2)} ` +
    `awaits_per_s=${(n * 1e9 / ns).toFixed(0)} ` +
    `cpu_ms=${((c.user + c.system) / 1e3).toFixed(1)} fired=${fired}`);
  process.exitCode = fired ? 1 : 0;
})();
