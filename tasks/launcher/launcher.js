'use strict';
// The one Node entry point of every VM Application Release task (handlers Node20_1 and Node24).
//
// Azure Pipelines has no Python handler, so the agent runs this file with its own Node and we
// start `python -m pytask <TaskName>`. Unless PYTASK_PYTHON names a ready interpreter, the
// launcher keeps one virtual environment per agent, per extension build and per Python,
// installed from the wheel and the hash-pinned lock that ship beside it.
//
// A warm start spawns Python once, for the task: the interpreter probe is cached per
// interpreter binary (never for a script such as a pyenv shim, whose target can change: that
// one is probed on every start), and the environment's health is read from its completion
// marker and the installed package's files. If the task then cannot import pytask, the
// environment is rebuilt and the task run again. Anything else (no environment yet, a changed
// interpreter) takes the full path: fresh probe, `import pytask` check, build under a lock.
//
// Plain Node (>= 20) with no npm dependencies: the agent installs nothing for us.

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const MIN_PYTHON = [3, 10];
const ENV_FOLDER = 'vm-application-release';
const MARKER = '.vmapp-complete.json';
const PROBE_CACHE = '.python-probes';
// First bytes of a native executable (ELF; Mach-O thin and fat). Anything else on PATH, a
// shim script above all, is probed every time: what it runs can change without it changing.
const BINARY_MAGIC = [
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
  Buffer.from([0xfe, 0xed, 0xfa, 0xce]),
  Buffer.from([0xfe, 0xed, 0xfa, 0xcf]),
  Buffer.from([0xce, 0xfa, 0xed, 0xfe]),
  Buffer.from([0xcf, 0xfa, 0xed, 0xfe]),
  Buffer.from([0xca, 0xfe, 0xba, 0xbe]),
];
// Run by the environment's Python after a build and whenever its health is in doubt: imports
// pytask and names the files the warm check looks for.
const IMPORT_CHECK = [
  'import json, os, pytask',
  'folder = os.path.dirname(os.path.abspath(pytask.__file__))',
  'print(json.dumps([os.path.join(folder, "__init__.py"), os.path.join(folder, "__main__.py")]))',
].join('\n');
const WHEEL_PATTERN = /^pytask_vmapp-([^-]+)-.*\.whl$/;
// A builder refreshes its lock every LOCK_REFRESH_MS; a lock untouched for LOCK_STALE_MS belongs
// to a job that died on another machine sharing the directory (a local one is detected by pid).
const LOCK_REFRESH_MS = 15 * 1000;
const LOCK_STALE_MS = 10 * 60 * 1000;
const LOCK_WAIT_MS = 30 * 60 * 1000;
const LOCK_POLL_MS = 200;
const PIP_INSTALL = ['install', '--disable-pip-version-check', '--no-input'];
// Run with -S (no site-packages): every start pays for this probe, and what it asks is in the
// standard library. pip's version is asked separately (PIP_PROBE), only when it matters: no
// ensurepip, or a build. Together they cost ~40 ms of each warm start (bench_overhead).
const PROBE = [
  'import importlib.util, json, sys',
  'has = lambda name: importlib.util.find_spec(name) is not None',
  'print(json.dumps({"version": list(sys.version_info[:3]), "executable": sys.executable, ' +
    '"venv": has("venv"), "ensurepip": has("ensurepip")}))',
].join('\n');
const PIP_PROBE = [
  'import importlib.metadata',
  'try:\n    print(importlib.metadata.version("pip"))\nexcept Exception:\n    print("")',
].join('\n');
// pip >= 22.3 can install into another interpreter (--python): the environment is then made
// without its own pip, which skips ensurepip, the slowest part of a bootstrap.
const PIP_WITH_PYTHON_OPTION = [22, 3];

/** A failure of the launcher itself (not of the task): reported as the task's result. */
class BootstrapError extends Error {}

// Messages of logging commands: the agent's escaping, '%' first so it is not escaped twice.
function escapeData(text) {
  return String(text).replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function reportFailure(message) {
  const escaped = escapeData(message);
  process.stdout.write(`##vso[task.logissue type=error]${escaped}\n`);
  process.stdout.write(`##vso[task.complete result=Failed;]${escaped}\n`);
}

function log(line) {
  process.stdout.write(`${line}\n`);
}

function readTask(taskDir) {
  const file = path.join(taskDir, 'task.json');
  let task;
  try {
    task = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new BootstrapError(`Cannot read ${file}: ${err.message}`);
  }
  if (!task.name) throw new BootstrapError(`${file} has no task name`);
  const v = task.version || {};
  return { name: task.name, version: `${v.Major}.${v.Minor}.${v.Patch}`, file };
}

function payload(taskDir) {
  const wheels = fs.readdirSync(taskDir).filter((f) => WHEEL_PATTERN.test(f));
  if (wheels.length !== 1) {
    throw new BootstrapError(
      `The task folder ${taskDir} must hold exactly one pytask_vmapp wheel; found ` +
        `${wheels.length}. The extension package is damaged: reinstall it.`,
    );
  }
  const lock = path.join(taskDir, 'requirements.lock');
  if (!fs.existsSync(lock)) {
    throw new BootstrapError(`${lock} is missing. The extension package is damaged: reinstall it.`);
  }
  return { wheel: path.join(taskDir, wheels[0]), lock };
}

function pythonCandidates() {
  if (process.platform === 'win32') {
    return [['py', ['-3']], ['python', []], ['python3', []]];
  }
  return [['python3', []], ['python', []]];
}

function lastLine(command, args, env) {
  const result = childProcess.spawnSync(command, args, {
    encoding: 'utf8',
    env,
    windowsHide: true,
    timeout: 60 * 1000,
  });
  if (result.error || result.status !== 0) return null;
  return result.stdout.trim().split(/\r?\n/).pop();
}

function probe(command, args, env) {
  const line = lastLine(command, [...args, '-I', '-S', '-c', PROBE], env);
  try {
    return line === null ? null : JSON.parse(line);
  } catch {
    return null;
  }
}

// The version of pip installed for `python` (null without pip), asked once.
function withPip(python) {
  if (python.pip === undefined) {
    python.pip = lastLine(python.executable, ['-I', '-c', PIP_PROBE]) || null;
  }
  return python;
}

function isRecentEnough(version) {
  return version[0] > MIN_PYTHON[0] || (version[0] === MIN_PYTHON[0] && version[1] >= MIN_PYTHON[1]);
}

function canInstallInto(python) {
  if (!python.pip) return false;
  const [major, minor] = python.pip.split('.').map((part) => parseInt(part, 10));
  const [needMajor, needMinor] = PIP_WITH_PYTHON_OPTION;
  return major > needMajor || (major === needMajor && minor >= needMinor);
}

// Where the launcher keeps its environments: the agent's tools directory.
function launcherRoot(env) {
  return path.join(env.AGENT_TOOLSDIRECTORY || env.AGENT_TEMPDIRECTORY || os.tmpdir(), ENV_FOLDER);
}

// The file a bare command runs, searched on PATH as execvp does (POSIX only: Windows searches
// other places first, and its `py` launcher's choice changes without any file changing).
function onPath(command, env) {
  if (process.platform === 'win32' || env.PATH === undefined) return undefined;
  for (const dir of env.PATH.split(path.delimiter)) {
    const file = path.join(dir || '.', command);
    try {
      if (fs.statSync(file).isFile()) {
        fs.accessSync(file, fs.constants.X_OK);
        return path.resolve(file);
      }
    } catch {
      // Not here: the next folder on PATH.
    }
  }
  return null;
}

function startsAsBinary(file) {
  const head = Buffer.alloc(4);
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    return fs.readSync(fd, head, 0, 4, 0) === 4 && BINARY_MAGIC.some((magic) => magic.equals(head));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function fileStamp(file) {
  try {
    const s = fs.statSync(file);
    return [s.dev, s.ino, s.size, s.mtimeMs, s.ctimeMs];
  } catch {
    return null;
  }
}

// What decides a probe's answer, when that is files alone: the path PATH gives (Python derives
// sys.executable and a venv's pyvenv.cfg from it), the binary it resolves to, and the pyvenv.cfg
// beside it or one level up. null when the interpreter is not a native binary (a shim script).
function interpreterIdentity(file) {
  let real;
  try {
    real = fs.realpathSync(file);
  } catch {
    return null;
  }
  if (!startsAsBinary(real)) return null;
  const folder = path.dirname(file);
  const configs = [folder, path.dirname(folder)].map((dir) => fileStamp(path.join(dir, 'pyvenv.cfg')));
  return JSON.stringify({ file, real, binary: fileStamp(real), configs });
}

function probeCacheFile(env, identity) {
  return path.join(launcherRoot(env), PROBE_CACHE, `${sha256(identity).slice(0, 24)}.json`);
}

function cachedProbe(env, identity) {
  try {
    const entry = JSON.parse(fs.readFileSync(probeCacheFile(env, identity), 'utf8'));
    return entry.identity === identity ? entry.probe : null;
  } catch {
    return null;
  }
}

function rememberProbe(env, identity, found) {
  const file = probeCacheFile(env, identity);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { version, executable, venv, ensurepip } = found;
    writeFileAtomic(file, JSON.stringify({ identity, probe: { version, executable, venv, ensurepip } }));
  } catch {
    // A cache that cannot be written only costs the next start a probe.
  }
}

// Warm starts: the interpreter the full search chose last time for the same files, without
// starting it. undefined when only a fresh probe can tell (no cache entry, a shim, Windows).
function rememberedPython(env) {
  for (const [command, args] of pythonCandidates()) {
    const file = args.length ? undefined : onPath(command, env);
    if (file === null) continue; // not on PATH: the full search skips it too
    const identity = file && interpreterIdentity(file);
    return (identity && cachedProbe(env, identity)) || undefined;
  }
  return undefined;
}

// The first candidate that can host the environment. Probes every candidate afresh, and
// remembers the chosen one for warm starts when it is a native binary.
function findPython(env) {
  const rejected = [];
  for (const [command, args] of pythonCandidates()) {
    const shown = [command, ...args].join(' ');
    const file = args.length ? undefined : onPath(command, env);
    const found = file === null ? null : probe(file || command, args, env);
    if (!found) {
      rejected.push(`${shown}: not found`);
    } else if (!isRecentEnough(found.version)) {
      rejected.push(`${shown}: Python ${found.version.join('.')} at ${found.executable}`);
    } else if (!found.venv || !(found.ensurepip || canInstallInto(withPip(found)))) {
      rejected.push(`${shown}: ${found.executable} lacks venv (or both ensurepip and pip 22.3+)`);
    } else {
      const identity = file && interpreterIdentity(file);
      if (identity) rememberProbe(env, identity, found);
      return found;
    }
  }
  throw new BootstrapError(
    `No Python ${MIN_PYTHON.join('.')} or later with venv support was found on this agent ` +
      `(${rejected.join('; ')}). Add UsePythonVersion@0 with versionSpec '3.x' before this task, ` +
      `install Python ${MIN_PYTHON.join('.')}+ (with venv) on the agent, or set PYTASK_PYTHON to ` +
      'an interpreter that has the pytask-vmapp package installed.',
  );
}

function sha256(...parts) {
  const hash = crypto.createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

// One environment per agent (the tools directory is the agent's), per extension build (version
// plus the exact wheel and lock bytes) and per Python interpreter.
function environmentPlan(task, files, python, env) {
  const build = sha256(fs.readFileSync(files.wheel), fs.readFileSync(files.lock));
  const key = `${task.version}-py${python.version[0]}.${python.version[1]}-` +
    sha256(python.executable, build).slice(0, 12);
  const dir = path.join(launcherRoot(env), key);
  const bin = process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe')
    : path.join(dir, 'bin', 'python');
  return { key, dir, python: bin, marker: path.join(dir, MARKER), lockDir: `${dir}.lock` };
}

function readMarker(plan) {
  try {
    const marker = JSON.parse(fs.readFileSync(plan.marker, 'utf8'));
    return marker.key === plan.key ? marker : null;
  } catch {
    return null;
  }
}

// The warm check, without starting Python: a completed build for this key whose interpreter
// (and, through its symlink, the base one) and pytask's files are in place.
function looksReady(plan) {
  const marker = readMarker(plan);
  return Boolean(marker && Array.isArray(marker.files) && marker.files.length &&
    [plan.python, ...marker.files].every((file) => fs.existsSync(file)));
}

// The full check: the environment's Python imports pytask. Returns the files looksReady
// checks, or null.
function importCheck(plan) {
  if (!fs.existsSync(plan.python)) return null;
  const line = lastLine(plan.python, ['-I', '-c', IMPORT_CHECK]);
  try {
    const files = line === null ? null : JSON.parse(line);
    return Array.isArray(files) && files.length ? files : null;
  } catch {
    return null;
  }
}

// A completed environment that imports pytask; its marker is brought up to date (an
// environment built by an earlier launcher lacks the file list).
function isHealthy(plan) {
  const marker = readMarker(plan);
  const files = marker && importCheck(plan);
  if (!files) return false;
  if (JSON.stringify(marker.files) !== JSON.stringify(files)) {
    try {
      writeFileAtomic(plan.marker, JSON.stringify({ ...marker, files }));
    } catch {
      // Read-only tools directory: the next start checks by importing again.
    }
  }
  return true;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function ownerOf(lockDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(lockDir, 'owner.json'), 'utf8'));
  } catch {
    return null;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function isStale(lockDir, owner) {
  if (owner && owner.host === os.hostname() && !isAlive(owner.pid)) return true;
  try {
    const touched = fs.statSync(owner ? path.join(lockDir, 'owner.json') : lockDir).mtimeMs;
    return Date.now() - touched > LOCK_STALE_MS;
  } catch {
    return false;
  }
}

function tryAcquire(lockDir, token) {
  try {
    fs.mkdirSync(lockDir);
  } catch (err) {
    if (err.code === 'EEXIST') return false;
    throw err;
  }
  const owner = { pid: process.pid, host: os.hostname(), token };
  fs.writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify(owner));
  return true;
}

// Move a stale lock aside atomically; if what moved turns out to be someone's fresh lock
// (it was replaced between our check and the rename), put it back.
function breakStaleLock(lockDir, staleOwner) {
  const aside = `${lockDir}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lockDir, aside);
  } catch {
    return;
  }
  const moved = ownerOf(aside);
  if (moved && staleOwner && moved.token !== staleOwner.token) {
    try {
      fs.renameSync(aside, lockDir);
      return;
    } catch {
      // The lock was taken again meanwhile: the moved one is abandoned either way.
    }
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

async function withLock(lockDir, work) {
  const token = crypto.randomBytes(8).toString('hex');
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  while (!tryAcquire(lockDir, token)) {
    const owner = ownerOf(lockDir);
    if (isStale(lockDir, owner)) {
      log(`Removing the stale environment lock ${lockDir}`);
      breakStaleLock(lockDir, owner);
      continue;
    }
    if (Date.now() > deadline) {
      throw new BootstrapError(`Timed out waiting for the environment lock ${lockDir}`);
    }
    if (!announced) log('Another job is preparing the Python environment; waiting for it.');
    announced = true;
    await sleep(LOCK_POLL_MS);
  }
  const ownerFile = path.join(lockDir, 'owner.json');
  const refresh = setInterval(() => {
    const now = new Date();
    fs.utimes(ownerFile, now, now, () => {});
  }, LOCK_REFRESH_MS);
  try {
    return await work();
  } finally {
    clearInterval(refresh);
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

// The agent's proxy (Agent.ProxyUrl and friends) as the standard variables that pip and the
// Azure SDK read, unless the user configured one.
function proxyEnvironment(env) {
  const result = { ...env };
  if (!env.AGENT_PROXYURL) return result;
  const url = new URL(env.AGENT_PROXYURL);
  const user = env.AGENT_PROXYUSERNAME;
  const password = env.AGENT_PROXYPASSWORD || env.SECRET_AGENT_PROXYPASSWORD;
  if (user) {
    url.username = user;
    if (password) url.password = password;
  }
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY']) {
    if (!env[name] && !env[name.toLowerCase()]) result[name] = url.href;
  }
  const bypass = bypassHosts(env.AGENT_PROXYBYPASSLIST);
  if (bypass.length && !env.NO_PROXY && !env.no_proxy) result.NO_PROXY = bypass.join(',');
  return result;
}

// The agent's bypass list is a JSON array of regular expressions; pip understands host names,
// so only the entries that are plain (escaped) host names carry over.
function bypassHosts(list) {
  let entries;
  try {
    entries = JSON.parse(list || '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(entries)) return [];
  return entries
    .map((entry) => String(entry).replace(/\\\./g, '.'))
    .filter((host) => /^[A-Za-z0-9.-]+$/.test(host));
}

function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(command, args, {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      windowsHide: true,
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

async function step(description, command, args, env) {
  log(description);
  const { code, signal } = await run(command, args, env);
  if (code !== 0) {
    throw new BootstrapError(
      `${description} failed (${signal || `exit code ${code}`}); see the output above. ` +
        'Behind a proxy or with a private package index, configure pip (pip.conf or PIP_* ' +
        'variables, for example PIP_INDEX_URL) or pre-provision Python and set PYTASK_PYTHON.',
    );
  }
}

function writeFileAtomic(file, text) {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

// How to create the environment and run pip for it with the interpreter we found.
function installer(python, plan) {
  if (canInstallInto(withPip(python))) {
    return {
      venvArgs: ['-m', 'venv', '--without-pip', plan.dir],
      pip: [python.executable, ['-I', '-m', 'pip', '--python', plan.python, ...PIP_INSTALL]],
    };
  }
  return { venvArgs: ['-m', 'venv', plan.dir], pip: [plan.python, ['-m', 'pip', ...PIP_INSTALL]] };
}

async function build(plan, python, files, env) {
  log('##[group]Preparing the Python environment for VM Application Release');
  try {
    fs.rmSync(plan.marker, { force: true });
    fs.rmSync(plan.dir, { recursive: true, force: true });
    const pipEnv = proxyEnvironment(env);
    const { venvArgs, pip: [pipCommand, pipArgs] } = installer(python, plan);
    await step(`Creating a virtual environment at ${plan.dir}`, python.executable, venvArgs, env);
    await step('Installing the pinned dependencies', pipCommand,
      [...pipArgs, '--require-hashes', '-r', files.lock], pipEnv);
    await step(`Installing ${path.basename(files.wheel)}`, pipCommand,
      [...pipArgs, '--no-deps', files.wheel], pipEnv);
    const installed = importCheck(plan);
    if (!installed) {
      throw new BootstrapError(`The Python environment at ${plan.dir} does not import pytask.`);
    }
    // Written last: only a fully installed environment carries the marker.
    const marker = {
      key: plan.key, python: python.executable, wheel: path.basename(files.wheel), files: installed,
    };
    writeFileAtomic(plan.marker, JSON.stringify(marker));
  } finally {
    log('##[endgroup]');
  }
}

// The environment to run the task in. Warm: the interpreter chosen last time (or a fresh probe
// when it cannot be remembered) has a ready-looking environment, trusted without starting
// Python. Otherwise the full path decides.
async function environmentFor(task, taskDir, env) {
  const remembered = rememberedPython(env);
  const python = remembered || findPython(env);
  const plan = environmentPlan(task, payload(taskDir), python, env);
  if (looksReady(plan)) {
    log(`Reusing the Python environment at ${plan.dir} (Python ${python.version.join('.')})`);
    return { plan, trusted: true };
  }
  // A remembered choice may be stale: the full path probes afresh.
  const fresh = remembered ? undefined : python;
  return { plan: await prepareEnvironment(task, taskDir, env, { python: fresh }), trusted: false };
}

// The full path: the import check, and a build under the lock if needed. `python` is a fresh
// probe's choice (made here if not given); `rebuild` forces the build (the task could not
// import pytask from a ready-looking environment).
async function prepareEnvironment(task, taskDir, env, { python: given, rebuild = false } = {}) {
  const files = payload(taskDir);
  const python = given || findPython(env);
  log(`Using Python ${python.version.join('.')} at ${python.executable}`);
  const plan = environmentPlan(task, files, python, env);
  if (!rebuild && isHealthy(plan)) {
    log(`Reusing the Python environment at ${plan.dir}`);
    return plan;
  }
  await withLock(plan.lockDir, async () => {
    // Another job may have finished it while we waited for the lock.
    if (!isHealthy(plan)) await build(plan, python, files, env);
  });
  if (!isHealthy(plan)) {
    throw new BootstrapError(`The Python environment at ${plan.dir} does not import pytask.`);
  }
  return plan;
}

// Our own environment runs isolated (-I): the job's working directory (the checked-out
// sources) must not shadow the installed pytask. PYTASK_PYTHON is run exactly as given.
function runTask(python, isolated, task, env) {
  return new Promise((resolve) => {
    const args = [...(isolated ? ['-I'] : []), '-m', 'pytask', task.name];
    const child = childProcess.spawn(python, args, {
      env: { ...env, PYTASK_TASK_JSON: task.file },
      stdio: 'inherit',
      windowsHide: true,
    });
    // The agent cancels a task with SIGINT, then SIGTERM: pass both on to Python.
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (err) => resolve({ error: err }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

// Runs the task in our environment. A warm start trusted the marker without importing pytask:
// if the task then ended abnormally and the environment does not import pytask, the task never
// got to run, so the environment is rebuilt and the task started again.
async function runInEnvironment(task, taskDir, env, taskEnv) {
  const { plan, trusted } = await environmentFor(task, taskDir, env);
  const result = await runTask(plan.python, true, task, taskEnv);
  if (!trusted || result.error || result.signal || result.code === 0 || importCheck(plan)) {
    return { python: plan.python, result };
  }
  log(`The Python environment at ${plan.dir} does not import pytask; rebuilding it.`);
  const rebuilt = await prepareEnvironment(task, taskDir, env, { rebuild: true });
  return { python: rebuilt.python, result: await runTask(rebuilt.python, true, task, taskEnv) };
}

async function main(taskDir = __dirname, env = process.env) {
  try {
    const task = readTask(taskDir);
    // The task's Azure SDK clients honour HTTPS_PROXY/NO_PROXY, as pip does.
    const taskEnv = proxyEnvironment(env);
    const provisioned = env.PYTASK_PYTHON;
    const { python, result } = provisioned
      ? { python: provisioned, result: await runTask(provisioned, false, task, taskEnv) }
      : await runInEnvironment(task, taskDir, env, taskEnv);
    if (result.error) {
      throw new BootstrapError(`Cannot start ${python}: ${result.error.message}`);
    }
    if (result.code !== 0) {
      throw new BootstrapError(
        `python -m pytask ${task.name} ended abnormally (${result.signal || `exit code ${result.code}`}).`,
      );
    }
  } catch (err) {
    reportFailure(err instanceof BootstrapError ? err.message : `Launcher error: ${err.stack || err}`);
  }
  // The agent reads the result from task.complete, not from the exit code.
  process.exitCode = 0;
}

module.exports = {
  bypassHosts, canInstallInto, escapeData, interpreterIdentity, isRecentEnough, proxyEnvironment,
};

if (require.main === module) {
  main();
}
