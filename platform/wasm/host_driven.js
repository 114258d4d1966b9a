// host_driven.js - node's event loop drives the async.h loop of
// host_driven.c (built with emscripten as a module: see platform/wasm/run.sh).
//
//   node platform/wasm/host_driven.js build/platform/wasm/host_driven_wasm.js
//
// The pattern: run a pass (hd_step), ask when the next one is due
// (hd_delay_ms), arm one setTimeout for it, return to node.  Nothing ever
// blocks or spins: between passes node runs its own callbacks (here an
// interval that counts how often it ran).  When the host hands the loop
// something (hd_post), it re-arms the timer for a pass right away.
//
// Checks, on stderr, that the loop left node free: the interval kept
// running, and the process used little CPU while the scenario's 1.4 s went
// by.  Exit status: hd_finish's verdict, or 1 if a check failed.
'use strict';
const path = require('path');
const createModule = require(path.resolve(process.argv[2]));

createModule().then((m) => {
  let timer = null;
  let steps = 0;
  let intervals = 0;
  const interval = setInterval(() => { intervals++; }, 20);
  const cpu0 = process.cpuUsage();
  const wall0 = Date.now();

  function finish() {
    clearInterval(interval);
    const rc = m._hd_finish();
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const wallMs = Date.now() - wall0;
    const problems = [];
    if (intervals < 20) problems.push(`the host's interval ran only ${intervals} times`);
    if (cpuMs > 0.25 * wallMs) problems.push('the loop kept the CPU busy');
    console.error(`host: ${steps} passes, ${intervals} interval callbacks, ` +
                  `${cpuMs.toFixed(0)} ms CPU in ${wallMs} ms` +
                  (problems.length ? ` - FAILED: ${problems.join('; ')}` : ''));
    process.exitCode = rc !== 0 || problems.length ? 1 : 0;
  }

  // One pass, then a timer for the next one (or the end).
  function pass() {
    timer = null;
    steps++;
    if (m._hd_step() === 0) return finish();
    schedule();
  }

  function schedule() {
    const ms = m._hd_delay_ms();
    if (timer !== null) clearTimeout(timer);
    timer = ms < 0 ? null : setTimeout(pass, ms); // -1: wait for hd_post
  }

  if (m._hd_start() !== 0) throw new Error('hd_start failed');
  // The host's own event at 0.5 s: an item for the consumer, then a pass.
  setTimeout(() => {
    m._hd_post(10);
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(pass, 0);
  }, 500);
  pass();
});
