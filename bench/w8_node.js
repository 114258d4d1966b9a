// W8 equal deadlines, Node.js: n async functions all await a 10 ms
// setTimeout, 100 rounds; each round must wake them in start order
// (checked; see w8_async.c).  Usage: node w8_node.js [n].
'use strict';
const n = Number(process.argv[2] || 100000);
const ROUNDS = 100;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let next = 0;
let bad = 0;

async function sleeper(i) {
  for (let r = 0; r < ROUNDS; r++) {
    await sleep(10);
    if (i !== next) bad++;
    next = i + 1 === n ? 0 : i + 1;
  }
}

(async () => {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const all = [];
  for (let i = 0; i < n; i++) all.push(sleeper(i));
  await Promise.all(all);
  const t1 = process.hrtime.bigint();
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1e3;
  console.log(`RESULT n=${n} total_ms=${(Number(t1 - t0) / 1e6).toFixed(1)} ` +
    `cpu_ms=${cpuMs.toFixed(1)} ns_per_wakeup=${(cpuMs * 1e6 / n / ROUNDS).toFixed(1)} ` +
    `ordered=${bad === 0 ? 1 : 0}`);
  process.exitCode = bad === 0 ? 0 : 1;
})();
