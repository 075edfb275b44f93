// Preloaded into Azurite (node --require) after gate.js, so it sees every blob request first.
// It gives Blob Storage the sandbox's --faults (pytask/sandbox/core/faults.py): for each request
// it asks the sandbox which fault applies (POST /_sandbox/faults/pick, the same rules, counters
// and faults.jsonl as for ARM), then answers as Azure Storage does -- an XML <Error> with
// x-ms-error-code (ServerBusy, InternalError, ...) -- resets the connection, or delays the request.
// Every blob request is also logged, one JSON line each, to SANDBOX_BLOB_LOG (method, path without
// the query, which may hold a SAS, status, the Blob REST operation, x-ms-client-request-id, fault):
// tests count retries with it. Without SANDBOX_FAULTS_URL the preload does nothing.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');

const FAULTS_URL = process.env.SANDBOX_FAULTS_URL;
const CA_FILE = process.env.SANDBOX_CA_FILE;
const BLOB_LOG = process.env.SANDBOX_BLOB_LOG;
const ADMIN_SECRET = process.env.SANDBOX_BLOB_ADMIN;
const ASK_TIMEOUT_MS = 5000; // the sandbox answers in milliseconds; never hang a request on it
const STORAGE_VERSION = '2026-06-06';

// The Blob REST operation a request is, by method, level (account, container, blob) and comp.
const BLOB_COMPS = {
  block: () => 'PutBlock',
  blocklist: (m) => (m === 'PUT' ? 'PutBlockList' : 'GetBlockList'),
  metadata: (m) => (m === 'PUT' ? 'SetBlobMetadata' : 'GetBlobMetadata'),
  properties: () => 'SetBlobProperties',
  tags: (m) => (m === 'PUT' ? 'SetBlobTags' : 'GetBlobTags'),
  lease: () => 'LeaseBlob',
  snapshot: () => 'SnapshotBlob',
  tier: () => 'SetBlobTier',
  copy: () => 'AbortCopyBlob',
  appendblock: () => 'AppendBlock',
  page: () => 'PutPage',
  pagelist: () => 'GetPageRanges',
};

function accountOperation(method, comp, restype) {
  if (comp === 'list') return 'ListContainers';
  if (comp === 'userdelegationkey') return 'GetUserDelegationKey';
  if (comp === 'properties') {
    return method === 'PUT' ? 'SetBlobServiceProperties' : 'GetBlobServiceProperties';
  }
  if (comp === 'stats') return 'GetBlobServiceStats';
  return restype === 'account' ? 'GetAccountInformation' : 'BlobService';
}

function containerOperation(method, comp) {
  if (comp === 'list') return 'ListBlobs';
  if (comp === 'metadata') return method === 'PUT' ? 'SetContainerMetadata' : 'GetContainerMetadata';
  if (comp === 'acl') return method === 'PUT' ? 'SetContainerACL' : 'GetContainerACL';
  if (comp === 'lease') return 'LeaseContainer';
  if (method === 'PUT') return 'CreateContainer';
  if (method === 'DELETE') return 'DeleteContainer';
  return 'GetContainerProperties';
}

function operationOf(req) {
  const [pathPart, queryPart] = req.url.split('?');
  const query = new URLSearchParams(queryPart || '');
  const comp = (query.get('comp') || '').toLowerCase();
  const restype = (query.get('restype') || '').toLowerCase();
  const method = req.method.toUpperCase();
  const depth = pathPart.split('/').filter(Boolean).length; // account, container, blob...
  if (depth <= 1) return accountOperation(method, comp, restype);
  if (depth === 2) return containerOperation(method, comp);
  if (BLOB_COMPS[comp]) return BLOB_COMPS[comp](method);
  if (method === 'PUT') return req.headers['x-ms-copy-source'] ? 'CopyBlob' : 'PutBlob';
  if (method === 'DELETE') return 'DeleteBlob';
  return method === 'HEAD' ? 'GetBlobProperties' : 'GetBlob';
}

// --- asking the sandbox ----------------------------------------------------------------------
const agent = new https.Agent({ keepAlive: true, ca: CA_FILE ? fs.readFileSync(CA_FILE) : undefined });

function ask(question, answer) {
  let done = false;
  const finish = (fault) => {
    if (!done) {
      done = true;
      answer(fault);
    }
  };
  const body = JSON.stringify(question);
  const request = https.request(
    FAULTS_URL,
    {
      method: 'POST',
      agent,
      timeout: ASK_TIMEOUT_MS,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    },
    (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        try {
          finish(JSON.parse(Buffer.concat(chunks).toString('utf8')).fault || null);
        } catch (err) {
          finish(null);
        }
      });
      response.on('error', () => finish(null));
    },
  );
  // The sandbox stopping or starting (Azurite runs first): serve the request without a fault.
  request.on('error', () => finish(null));
  request.on('timeout', () => request.destroy());
  request.end(body);
}

// --- doing the fault -------------------------------------------------------------------------
function xmlEscape(text) {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Azure Storage's error answer (see gate.js refuse()), with the rule's Retry-After if any.
function answerError(res, fault) {
  const requestId = crypto.randomUUID();
  const body =
    '\ufeff<?xml version="1.0" encoding="utf-8"?><Error>' +
    `<Code>${xmlEscape(fault.code)}</Code><Message>${xmlEscape(fault.message)}\n` +
    `RequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
  res.writeHead(fault.status, fault.message.split('\n')[0], {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-ms-request-id': requestId,
    'x-ms-version': STORAGE_VERSION,
    'x-ms-error-code': fault.code,
    ...(fault.headers || {}),
  });
  res.end(body);
}

// A TCP reset, as a flaky network or load balancer gives: RST on the TLS socket's TCP socket.
function reset(req) {
  const socket = req.socket;
  const tcp = socket._parent || socket;
  try {
    tcp.resetAndDestroy();
  } catch (err) {
    socket.destroy();
  }
}

// --- the log ---------------------------------------------------------------------------------
function logRequest(req, res, operation, fault) {
  if (!BLOB_LOG) return;
  const started = Date.now();
  let written = false;
  const write = (status) => {
    if (written) return;
    written = true;
    const record = {
      time: started / 1000,
      service: 'blob',
      method: req.method.toUpperCase(),
      path: req.url.split('?')[0],
      operation,
      status,
      fault: fault ? fault.rule : null,
      client_request_id: req.headers['x-ms-client-request-id'] || null,
    };
    try {
      fs.appendFileSync(BLOB_LOG, `${JSON.stringify(record)}\n`);
    } catch (err) {
      // A lost log line must not fail the request.
    }
  };
  res.on('finish', () => write(res.statusCode));
  res.on('close', () => write(res.writableFinished ? res.statusCode : 0)); // 0: no answer
}

function isAdmin(req) {
  return ADMIN_SECRET !== undefined && req.headers['x-sandbox-admin'] === ADMIN_SECRET;
}

function patchServer() {
  const emit = https.Server.prototype.emit;
  https.Server.prototype.emit = function (event, req, res) {
    // The sandbox's own requests (seeding containers) are never faulted.
    if (event !== 'request' || isAdmin(req)) return emit.apply(this, arguments);
    const server = this;
    const args = arguments;
    const operation = operationOf(req);
    const question = { service: 'blob', method: req.method, path: req.url.split('?')[0], operation };
    ask(question, (fault) => {
      logRequest(req, res, operation, fault);
      if (fault && fault.inject === 'status') {
        req.resume(); // drain the upload we refuse
        answerError(res, fault);
      } else if (fault && fault.inject === 'reset') {
        reset(req);
      } else if (fault && fault.inject === 'delay') {
        setTimeout(() => emit.apply(server, args), fault.seconds * 1000);
      } else {
        emit.apply(server, args);
      }
    });
    return true;
  };
}

if (FAULTS_URL) patchServer();
