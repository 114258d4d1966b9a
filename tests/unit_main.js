// The Emscripten half of tests/unit_main.c's runner (emcc --js-library
// tests/unit_main.js): there is no fork, so node's child_process.spawnSync
// runs this same script again for one test, and kills it at the time limit.
// On node's main thread ('sync' proxy): with -sPROXY_TO_PTHREAD main() is on
// a worker, whose process.argv[1] is the worker's script, not the program.
// Returns the exit code, -1 if the time ran out, -2 if node did not start,
// or -1000 - the number of the signal it died of.
mergeInto(LibraryManager.library, {
  unit_node_spawn__proxy: 'sync',
  unit_node_spawn__sig: 'iid',
  unit_node_spawn: function(id, timeout) {
    var r = require('child_process').spawnSync(
      process.execPath,
      process.execArgv.concat([process.argv[1], '--unit-run', UTF8ToString(id)]),
      {stdio: 'inherit', timeout: timeout > 0 ? timeout * 1000 : undefined, killSignal: 'SIGKILL'});
    if (r.error) return r.error.code === 'ETIMEDOUT' ? -1 : -2;
    if (r.signal) return -1000 - (require('os').constants.signals[r.signal] || 0);
    return r.status;
  },
});
