'use strict';
// Warm starts: Python is started once, for the task. The interpreter probe is cached per native
// binary (never for a shim script), and an environment that looks complete but cannot import
// pytask is rebuilt when the task fails to start from it.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const h = require('./harness.js');

before(h.setup);
after(h.cleanup);

const probes = (toolsDir) => {
  const dir = path.join(toolsDir, 'vm-application-release', '.python-probes');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};
const pythonStarts = (spawns) => spawns.filter(([command]) => /python/.test(path.basename(command)));
const isTask = ([, ...args]) => args.join(' ') === '-I -m pytask PublishVmApp';

// The real interpreter as a venv made with --copies: a native binary on PATH that the test owns.
function nativePython() {
  const venv = path.join(h.tempDir('native'), 'venv');
  childProcess.execFileSync(h.python(), ['-m', 'venv', '--without-pip', '--copies', venv]);
  return path.join(venv, 'bin');
}

describe('warm starts', { concurrency: false, skip: h.IS_WINDOWS && 'the probe is cached on POSIX only' }, () => {
  let taskDir;
  let bin;
  let spawns;

  before(() => {
    taskDir = h.makeTaskFolder();
    bin = nativePython();
    spawns = h.recordSpawns(h.agentEnv({ PATH: `${bin}${path.delimiter}${process.env.PATH}` }));
  });

  test('a warm start with a native python3 starts Python once, for the task', async () => {
    const tools = spawns.env.AGENT_TOOLSDIRECTORY;
    h.assertRanTask(await h.runLauncher(taskDir, spawns.env), taskDir, tools);
    assert.equal(probes(tools).length, 1, 'the chosen interpreter is remembered');
    spawns.reset();
    const result = await h.runLauncher(taskDir, spawns.env);
    h.assertRanTask(result, taskDir, tools);
    assert.match(result.stdout, /Reusing the Python environment/);
    const started = pythonStarts(spawns.read());
    assert.equal(started.length, 1, JSON.stringify(started));
    assert.ok(isTask(started[0]), JSON.stringify(started));
  });

  test('a changed interpreter file is probed again, and its environment reused', async () => {
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(bin, 'python3'), later, later);
    spawns.reset();
    const result = await h.runLauncher(taskDir, spawns.env);
    h.assertRanTask(result, taskDir, spawns.env.AGENT_TOOLSDIRECTORY);
    assert.equal(h.builds(result.output), 0);
    const started = pythonStarts(spawns.read());
    assert.equal(started.length, 2, `a fresh probe and the task: ${JSON.stringify(started)}`);
    assert.equal(started[0][0], path.join(bin, 'python3'), 'the probe runs the python3 found on PATH');
    assert.ok(isTask(started[1]), JSON.stringify(started));
    assert.equal(probes(spawns.env.AGENT_TOOLSDIRECTORY).length, 2, 'the new identity is remembered');
  });

  test('an environment that looks complete but cannot import pytask is rebuilt and the task run', async () => {
    const tools = spawns.env.AGENT_TOOLSDIRECTORY;
    const [envDir] = h.environments(tools);
    const marker = JSON.parse(fs.readFileSync(path.join(envDir, '.vmapp-complete.json'), 'utf8'));
    fs.writeFileSync(marker.files[0], 'raise ImportError("damaged on purpose")\n');
    const result = await h.runLauncher(taskDir, spawns.env);
    assert.match(result.stdout, /does not import pytask; rebuilding it/);
    assert.equal(h.builds(result.output), 1);
    h.assertRanTask(result, taskDir, tools);
  });
});

describe('a shim script as python3', { skip: h.IS_WINDOWS && 'POSIX shell script' }, () => {
  test('is probed on every start and never cached', async () => {
    const taskDir = h.makeTaskFolder();
    const bin = h.tempDir('shim');
    fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\nexec "${h.python()}" "$@"\n`, { mode: 0o755 });
    const spawns = h.recordSpawns(h.agentEnv({ PATH: `${bin}${path.delimiter}${process.env.PATH}` }));
    const tools = spawns.env.AGENT_TOOLSDIRECTORY;
    h.assertRanTask(await h.runLauncher(taskDir, spawns.env), taskDir, tools);
    spawns.reset();
    h.assertRanTask(await h.runLauncher(taskDir, spawns.env), taskDir, tools);
    const started = pythonStarts(spawns.read());
    assert.equal(started.length, 2, `the shim's probe and the task: ${JSON.stringify(started)}`);
    assert.equal(started[0][0], path.join(bin, 'python3'));
    assert.ok(isTask(started[1]), JSON.stringify(started));
    assert.deepEqual(probes(tools), []);
  });
});
