'use strict';
// Finding the interpreter, PYTASK_PYTHON, and the launcher's small pure helpers.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const h = require('./harness.js');
const {
  bypassHosts, escapeData, interpreterIdentity, isRecentEnough, proxyEnvironment,
} = require('../launcher.js');

before(h.setup);
after(h.cleanup);

describe('finding Python', { skip: h.IS_WINDOWS && 'uses POSIX shell scripts as fake interpreters' }, () => {
  function fakeInterpreter(dir, name, script) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    return file;
  }

  test('no Python at all: one clear error, Failed, exit code 0', async () => {
    const taskDir = h.makeTaskFolder();
    const env = h.agentEnv({ PATH: h.tempDir('empty-path') });
    const result = await h.runLauncher(taskDir, env);
    const message = h.failureOf(result);
    assert.match(message, /No Python 3\.10 or later/);
    assert.match(message, /add UsePythonVersion@0/i);
    assert.match(message, /PYTASK_PYTHON/);
    assert.deepEqual(h.environments(env.AGENT_TOOLSDIRECTORY), []);
  });

  test('only an old Python: says which one was rejected', async () => {
    const taskDir = h.makeTaskFolder();
    const bin = h.tempDir('old-python');
    const probe = '{"version": [3, 8, 10], "executable": "/opt/python3.8/bin/python3", "venv": true}';
    fakeInterpreter(bin, 'python3', `echo '${probe}'`);
    const result = await h.runLauncher(taskDir, h.agentEnv({ PATH: bin }));
    const message = h.failureOf(result);
    assert.match(message, /python3: Python 3\.8\.10 at \/opt\/python3\.8\/bin\/python3/);
    assert.match(message, /python: not found/);
  });

  test('PYTASK_PYTHON is used as is: no bootstrap, the task name and task.json passed on', async () => {
    const taskDir = h.makeTaskFolder();
    const bin = h.tempDir('provisioned');
    const fake = fakeInterpreter(bin, 'my python', 'echo "ARGS $* TASKJSON $PYTASK_TASK_JSON KEEP $KEEP_ME"');
    const env = h.agentEnv({ PYTASK_PYTHON: fake, KEEP_ME: 'inherited', PATH: h.tempDir('empty-path') });
    const result = await h.runLauncher(taskDir, env);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(),
      `ARGS -m pytask PublishVmApp TASKJSON ${path.join(taskDir, 'task.json')} KEEP inherited`);
    assert.deepEqual(h.environments(env.AGENT_TOOLSDIRECTORY), []);
  });

  test('the agent proxy reaches the task as HTTPS_PROXY', async () => {
    const taskDir = h.makeTaskFolder();
    const fake = fakeInterpreter(h.tempDir('provisioned'), 'python', 'echo "PROXY $HTTPS_PROXY"');
    const env = h.agentEnv({ PYTASK_PYTHON: fake, AGENT_PROXYURL: 'http://proxy.corp:8080' });
    const result = await h.runLauncher(taskDir, env);
    assert.equal(result.stdout.trim(), 'PROXY http://proxy.corp:8080/');
  });

  test('a PYTASK_PYTHON that cannot start is reported', async () => {
    const taskDir = h.makeTaskFolder();
    const result = await h.runLauncher(taskDir, h.agentEnv({ PYTASK_PYTHON: path.join(h.root(), 'nope') }));
    assert.match(h.failureOf(result), /Cannot start .*nope: .*ENOENT/);
  });
});

describe('helpers', () => {
  test('messages are escaped as the agent expects, % first', () => {
    assert.equal(escapeData('50% done\r\nnext'), '50%AZP25 done%0D%0Anext');
  });

  test('the agent proxy reaches pip with credentials, unless the user set one', () => {
    const env = proxyEnvironment({
      AGENT_PROXYURL: 'http://proxy.corp:8080',
      AGENT_PROXYUSERNAME: 'svc user',
      SECRET_AGENT_PROXYPASSWORD: 'p@ss:word',
      AGENT_PROXYBYPASSLIST: '["github\\\\.com", "^.*\\\\.internal$"]',
    });
    assert.equal(env.HTTPS_PROXY, 'http://svc%20user:p%40ss%3Aword@proxy.corp:8080/');
    assert.equal(env.HTTP_PROXY, env.HTTPS_PROXY);
    assert.equal(env.NO_PROXY, 'github.com');
    const mine = proxyEnvironment({ AGENT_PROXYURL: 'http://proxy.corp:8080', https_proxy: 'http://mine:3128' });
    assert.equal(mine.HTTPS_PROXY, undefined);
    assert.equal(proxyEnvironment({ PATH: '/bin' }).HTTPS_PROXY, undefined);
  });

  test('bypass entries that are not plain hosts are dropped', () => {
    assert.deepEqual(bypassHosts('not json'), []);
    assert.deepEqual(bypassHosts('["a\\\\.b", "x.*"]'), ['a.b']);
  });

  test('an interpreter is remembered by its file identity, and only a native binary', { skip: h.IS_WINDOWS && 'POSIX only' }, () => {
    const dir = h.tempDir('identity');
    const binary = path.join(dir, 'python3');
    fs.copyFileSync(fs.realpathSync(h.python()), binary);
    const first = interpreterIdentity(binary);
    assert.ok(first, 'a native binary has an identity');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(binary, later, later);
    assert.notEqual(interpreterIdentity(binary), first, 'a changed file is another interpreter');
    const link = path.join(h.tempDir('link'), 'python3');
    fs.symlinkSync(binary, link);
    assert.notEqual(interpreterIdentity(link), interpreterIdentity(binary), 'the path PATH gives counts');
    const plain = interpreterIdentity(binary);
    fs.writeFileSync(path.join(dir, 'pyvenv.cfg'), 'home = /elsewhere\n');
    assert.notEqual(interpreterIdentity(binary), plain, 'so does a pyvenv.cfg beside it');
    const shim = path.join(dir, 'shim');
    fs.writeFileSync(shim, '#!/bin/sh\nexec python3 "$@"\n', { mode: 0o755 });
    assert.equal(interpreterIdentity(shim), null, 'a script is never remembered');
    assert.equal(interpreterIdentity(path.join(dir, 'missing')), null);
  });

  test('Python 3.10 is the floor', () => {
    assert.ok(isRecentEnough([3, 10, 0]));
    assert.ok(isRecentEnough([4, 0, 0]));
    assert.ok(!isRecentEnough([3, 9, 18]));
  });
});
