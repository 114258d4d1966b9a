// W1 count, Node.js: three async functions print One, await a setTimeout
// promise, print Two.  Usage: node w1_node.js [seconds].
'use strict';
const ms = Math.round((process.argv[2] ? Number(process.argv[2]) : 1) * 1000);
const sleep = (t) => new Promise((resolve) => setTimeout(resolve, t));

async function count() {
  console.log('One');
  await sleep(ms);
  console.log('Two');
}

Promise.all([count(), count(), count()]);
