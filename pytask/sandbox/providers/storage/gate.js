// Preloaded into Azurite (node --require) by the sandbox's blob service. It makes Azurite answer
// as Azure Storage does where Azurite alone cannot:
//  * accounts come from the sandbox (the gate file), live: an account created through ARM is
//    served at once, one deleted is gone, without restarting Azurite;
//  * bearer tokens are verified as Azure Storage does (signature against the sandbox's signing
//    keys, issuer, audience, lifetime) -- Azurite's "basic" OAuth only decodes them and accepts
//    only public-cloud issuers, so a verified token is handed on re-issued under such an issuer;
//  * an account with allowSharedKeyAccess=false refuses shared-key requests and key-signed SAS
//    with 403 KeyBasedAuthenticationNotPermitted;
//  * Entra requests and user delegation SAS obey the seeded role assignments (data actions),
//    403 AuthorizationPermissionMismatch otherwise.
// A test aid besides (pytask/sandbox/core/issued.py): SAS signatures presented and user
// delegation keys handed out are appended to the file SANDBOX_ISSUED_SECRETS names, so that
// the test suite can check that no log ever shows them.
// The gate file (JSON, path in SANDBOX_BLOB_GATE) is rewritten atomically by the sandbox and
// re-read when it changes. Only Node's public API is patched, plus two methods of Azurite's
// AccountDataStore (getAccount, refresh), whose behaviour is pinned by the storage tests.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const path = require('path');

const GATE_FILE = process.env.SANDBOX_BLOB_GATE;
const ISSUED_FILE = process.env.SANDBOX_ISSUED_SECRETS;
const CLOCK_SKEW_SECONDS = 300; // Azure AD resource validation tolerates five minutes
const AZURITE_ISSUER = 'https://sts.windows.net/';
const STORAGE_AUDIENCE = 'https://storage.azure.com';
const MINT_KEY = crypto.randomBytes(32);

let gate = { accounts: {}, tokens: null };
let gateStamp = '';
let generation = 0;

function reload() {
  if (!GATE_FILE) return;
  let stat;
  try {
    stat = fs.statSync(GATE_FILE);
  } catch (err) {
    return;
  }
  const stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
  if (stamp === gateStamp) return;
  try {
    gate = JSON.parse(fs.readFileSync(GATE_FILE, 'utf8'));
    gateStamp = stamp;
    generation += 1;
    process.env.AZURITE_ACCOUNTS = Object.entries(gate.accounts)
      .map(([name, a]) => `${name}:${a.key1}:${a.key2}`)
      .join(';');
  } catch (err) {
    // A half-written file cannot happen (atomic rename); keep the last good gate otherwise.
  }
}

// --- accounts: Azurite asks its AccountDataStore; make it follow the gate file ---------------
function patchAccountStore() {
  const main = process.argv[1];
  const modulePath = path.join(path.dirname(main), '..', 'common', 'AccountDataStore.js');
  const AccountDataStore = require(modulePath).default;
  const getAccount = AccountDataStore.prototype.getAccount;
  AccountDataStore.prototype.getAccount = function (name) {
    reload();
    if (this.sandboxGeneration !== generation) {
      this.sandboxGeneration = generation;
      this.refresh(); // re-parses AZURITE_ACCOUNTS, which reload() keeps in step
    }
    return getAccount.call(this, name);
  };
}

// --- answers ---------------------------------------------------------------------------------
function xmlEscape(text) {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function refuse(res, status, code, message, extra) {
  const requestId = crypto.randomUUID();
  const details = Object.entries(extra.details || {})
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  const body =
    '\ufeff<?xml version="1.0" encoding="utf-8"?><Error>' +
    `<Code>${code}</Code><Message>${xmlEscape(message)}\nRequestId:${requestId}\n` +
    `Time:${new Date().toISOString()}</Message>${details}</Error>`;
  const headers = {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-ms-request-id': requestId,
    'x-ms-version': '2026-06-06',
    'x-ms-error-code': code,
    ...(extra.headers || {}),
  };
  res.writeHead(status, message.split('\n')[0], headers);
  res.end(body);
}

// --- tokens ----------------------------------------------------------------------------------
const ALGORITHMS = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', padding: crypto.constants.RSA_PKCS1_PSS_PADDING },
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
  ES384: { hash: 'sha384', dsaEncoding: 'ieee-p1363' },
};

function b64json(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function verifySignature(parts, header, jwks) {
  const alg = ALGORITHMS[header.alg];
  if (!alg) return false;
  const candidates = (jwks.keys || []).filter((k) => !header.kid || k.kid === header.kid);
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  return candidates.some((jwk) => {
    try {
      const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
      const options = { key };
      if (alg.padding) options.padding = alg.padding;
      if (alg.dsaEncoding) options.dsaEncoding = alg.dsaEncoding;
      return crypto.verify(alg.hash, data, options, signature);
    } catch (err) {
      return false;
    }
  });
}

// Returns [claims, null] or [null, the AuthenticationErrorDetail Azure Storage would give].
function verifyToken(token, account, policy) {
  const parts = token.split('.');
  if (parts.length !== 3) return [null, 'Bearer token is malformed.'];
  let header;
  let claims;
  try {
    header = b64json(parts[0]);
    claims = b64json(parts[1]);
  } catch (err) {
    return [null, 'Bearer token is malformed.'];
  }
  if (!verifySignature(parts, header, policy.jwks || {})) {
    return [null, 'Signature validation failed. Signature is invalid.'];
  }
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || now > claims.exp + CLOCK_SKEW_SECONDS) {
    return [null, 'Lifetime validation failed. The token is expired.'];
  }
  if (typeof claims.nbf === 'number' && now + CLOCK_SKEW_SECONDS < claims.nbf) {
    return [null, 'Lifetime validation failed. The token is not yet valid.'];
  }
  if (!(policy.issuers || []).includes(claims.iss)) {
    return [null, 'Issuer validation failed. Issuer did not match.'];
  }
  const audiences = (policy.audiences || []).concat(
    (policy.accountAudiences || []).map((template) => template.replace('{account}', account)),
  );
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.some((a) => audiences.includes(a))) {
    return [null, 'Audience validation failed. Audience did not match.'];
  }
  if (!claims.oid || !claims.tid) {
    return [null, 'The token does not identify a principal (oid, tid).'];
  }
  return [claims, null];
}

// Azurite decodes (never verifies) tokens and wants a public-cloud issuer and audience.
function reissue(claims) {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    ...claims,
    iss: `${AZURITE_ISSUER}${claims.tid}/`,
    aud: STORAGE_AUDIENCE,
    iat: typeof claims.iat === 'number' ? claims.iat : now,
    nbf: typeof claims.nbf === 'number' ? claims.nbf : now,
  };
  const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const sig = crypto.createHmac('sha256', MINT_KEY).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// --- issued secrets (test aid) ----------------------------------------------------------------
const recorded = new Set();

function recordSecret(kind, value) {
  if (!ISSUED_FILE || !value || recorded.has(`${kind}:${value}`)) return;
  recorded.add(`${kind}:${value}`);
  try {
    fs.appendFileSync(ISSUED_FILE, `${JSON.stringify({ kind, value })}\n`);
  } catch (err) {
    // The scan then misses this value; serving the request matters more.
  }
}

// The user delegation key's <Value> is in Azurite's answer: watch the body as it is written.
function recordDelegationKey(res) {
  const chunks = [];
  const keep = (chunk) => {
    if (chunk) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  };
  const write = res.write;
  const end = res.end;
  res.write = function (chunk, ...rest) {
    keep(chunk);
    return write.call(this, chunk, ...rest);
  };
  res.end = function (chunk, ...rest) {
    if (typeof chunk !== 'function') keep(chunk);
    const match = /<Value>([^<]+)<\/Value>/.exec(Buffer.concat(chunks).toString('utf8'));
    if (match) recordSecret('user-delegation-key', match[1]);
    return end.call(this, chunk, ...rest);
  };
}

// --- data-plane RBAC (role assignments from the seed, see dataroles.py) --------------------
const CONTAINERS = 'Microsoft.Storage/storageAccounts/blobServices/containers';
const BLOBS = `${CONTAINERS}/blobs`;
const DELEGATION_KEY =
  'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action';

// What a request needs ({action} or {dataAction}) and on which resource; null: not checked.
function requirement(req, query, accountId) {
  const parts = req.url.split('?')[0].split('/');
  const container = parts[2] || '';
  const blob = parts.slice(3).join('/');
  const comp = (query.get('comp') || '').toLowerCase();
  const method = req.method.toUpperCase();
  if (!container) {
    if (comp === 'userdelegationkey') return { action: DELEGATION_KEY, scope: accountId };
    if (comp === 'list') return { action: `${CONTAINERS}/read`, scope: accountId };
    return null; // service properties, account information
  }
  const scope = `${accountId}/blobServices/default/containers/${container}`;
  if (!blob) {
    if (comp === 'list') return { dataAction: `${BLOBS}/read`, scope };
    if (method === 'DELETE') return { action: `${CONTAINERS}/delete`, scope };
    if (method === 'GET' || method === 'HEAD') return { action: `${CONTAINERS}/read`, scope };
    return { action: `${CONTAINERS}/write`, scope };
  }
  if (method === 'GET' || method === 'HEAD') return { dataAction: `${BLOBS}/read`, scope };
  if (method === 'DELETE') return { dataAction: `${BLOBS}/delete`, scope };
  return { dataAction: `${BLOBS}/write`, scope };
}

function globMatch(value, patterns) {
  return (patterns || []).some((pattern) => {
    const body = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${body.join('.*')}$`, 'i').test(value);
  });
}

function inScope(resource, scope) {
  const r = resource.toLowerCase();
  const s = scope.toLowerCase().replace(/\/+$/, '');
  return r === s || r.startsWith(`${s}/`);
}

// Unconstrained principals (no role assignment at all) may do anything, as with ARM.
function authorized(oid, needed) {
  const grants = (gate.rbac || {})[String(oid).toLowerCase()];
  if (grants === undefined || needed === null) return true;
  return grants.some((g) => {
    if (!inScope(needed.scope, g.scope)) return false;
    if (needed.action) {
      return globMatch(needed.action, g.actions) && !globMatch(needed.action, g.notActions);
    }
    return (
      globMatch(needed.dataAction, g.dataActions) &&
      !globMatch(needed.dataAction, g.notDataActions)
    );
  });
}

const NOT_PERMITTED = 'This request is not authorized to perform this operation using this permission.';

// --- the gate --------------------------------------------------------------------------------
const KEY_NOT_PERMITTED = 'Key based authentication is not permitted on this storage account.';

function accountOf(url) {
  const first = url.split('?')[0].split('/')[1] || '';
  try {
    return decodeURIComponent(first);
  } catch (err) {
    return first;
  }
}

function usesKey(req, query) {
  const auth = req.headers.authorization || '';
  if (/^SharedKey(Lite)? /i.test(auth)) return true;
  // A SAS signed with an account key: has a signature and no user delegation key fields.
  return !auth && query.has('sig') && !query.has('skoid');
}

// true: answered here; false: hand the request on to Azurite.
function screen(req, res) {
  reload();
  if (req.method === 'OPTIONS') return false;
  const account = accountOf(req.url);
  const settings = gate.accounts[account];
  if (settings === undefined) {
    refuse(res, 404, 'ResourceNotFound', 'The specified resource does not exist.', {});
    return true;
  }
  const admin = req.headers['x-sandbox-admin'];
  if (admin !== undefined) {
    delete req.headers['x-sandbox-admin'];
    // The sandbox itself (seeding containers, clearing a re-created account's old data).
    if (gate.adminSecret && admin === gate.adminSecret) return false;
  }
  const query = new URLSearchParams(req.url.split('?')[1] || '');
  if (query.has('sig')) recordSecret('sas-signature', query.get('sig'));
  if ((query.get('comp') || '').toLowerCase() === 'userdelegationkey') recordDelegationKey(res);
  if (usesKey(req, query) && settings.allowSharedKeyAccess === false) {
    refuse(res, 403, 'KeyBasedAuthenticationNotPermitted', KEY_NOT_PERMITTED, {});
    return true;
  }
  const auth = req.headers.authorization || '';
  const policy = gate.tokens;
  if (policy && /^Bearer /i.test(auth)) {
    const [claims, detail] = verifyToken(auth.slice(7).trim(), account, policy);
    if (claims === null) {
      refuse(
        res,
        401,
        'InvalidAuthenticationInfo',
        'Server failed to authenticate the request. ' +
          'Please refer to the information in the www-authenticate header.',
        {
          details: { AuthenticationErrorDetail: detail },
          headers: {
            'WWW-Authenticate':
              `Bearer authorization_uri=${policy.authorizationUri} ` +
              `resource_id=${STORAGE_AUDIENCE}`,
          },
        },
      );
      return true;
    }
    if (!authorized(claims.oid, requirement(req, query, settings.id))) {
      refuse(res, 403, 'AuthorizationPermissionMismatch', NOT_PERMITTED, {});
      return true;
    }
    req.headers.authorization = `Bearer ${reissue(claims)}`;
  } else if (!auth && query.has('skoid')) {
    // A user delegation SAS can do no more than its principal's roles allow.
    if (!authorized(query.get('skoid'), requirement(req, query, settings.id))) {
      refuse(res, 403, 'AuthorizationPermissionMismatch', NOT_PERMITTED, {});
      return true;
    }
  }
  return false;
}

function patchServer() {
  const emit = https.Server.prototype.emit;
  https.Server.prototype.emit = function (event, req, res) {
    if (event === 'request') {
      let answered;
      try {
        answered = screen(req, res);
      } catch (err) {
        refuse(res, 500, 'InternalError', `The sandbox blob gate failed: ${err.message}`, {});
        answered = true;
      }
      if (answered) {
        req.resume(); // drain an upload we refused
        return true;
      }
    }
    return emit.apply(this, arguments);
  };
}

if (GATE_FILE) {
  reload();
  patchAccountStore();
  patchServer();
}
