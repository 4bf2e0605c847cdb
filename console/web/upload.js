// Uploads: files and folders (picked or dropped), per-file and total
// progress, multipart for big files with parts in parallel, resumable
// after a network drop or a reload (upload id kept in localStorage; the
// parts already stored are asked of ListParts), cancel (which aborts the
// multipart upload).
import { session, s3, s3url, s3xml, all, tag, ApiError, xmlEscape } from './api.js';
import { h, bytes, say } from './ui.js';

const MIB = 1024 * 1024;
const MULTIPART_FROM = 8 * MIB; // files from this size go in parts
const MIN_PART = 5 * MIB; // S3's smallest part but the last
const MAX_PARTS = 10000;
const PARALLEL_PARTS = 3;
const PARALLEL_FILES = 2;
const ATTEMPTS = 3; // per part, before the file waits for Resume
const STORE = 'filesphere-uploads';
const STALL_MS = 60000; // a request with no progress this long counts as a network failure

const uploads = [];
let onFinished = () => {};

function store() {
  try { return JSON.parse(localStorage.getItem(STORE) || '{}'); } catch (_) { return {}; }
}
function saveStore(s) { localStorage.setItem(STORE, JSON.stringify(s)); }
const fingerprint = (bucket, key, file) => [bucket, key, file.size, file.lastModified].join('\n');

export function pendingUploads() {
  return Object.entries(store()).map(([fp, r]) => Object.assign({ fp }, r));
}

export async function discardPending(p) {
  try {
    await s3('DELETE', p.bucket, p.key, { uploadId: p.uploadId });
  } catch (e) {
    if (e.code !== 'NoSuchUpload') throw e;
  }
  const s = store();
  delete s[p.fp];
  saveStore(s);
}

export function initUploads() {
  document.getElementById('uploads-close').onclick = () => {
    for (let i = uploads.length - 1; i >= 0; i--) {
      if (['done', 'canceled'].includes(uploads[i].state)) {
        uploads[i].row.remove();
        uploads.splice(i, 1);
      }
    }
    document.getElementById('uploads').hidden = uploads.length === 0;
    renderTotal();
  };
}

// uploadFiles queues files under prefix; a file's key is its folder path
// (webkitRelativePath) or name. done runs when the queue empties with
// files finished.
export function uploadFiles(bucket, prefix, files, done) {
  onFinished = done || (() => {});
  for (const f of files) add(bucket, prefix + (f.relativePath || f.webkitRelativePath || f.name), f);
  pump();
}

// uploadEntries reads a drop: files and whole folders.
export async function uploadEntries(bucket, prefix, dt, done) {
  const entries = Array.from(dt.items || []).map(i => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return uploadFiles(bucket, prefix, Array.from(dt.files || []), done);
  const files = [];
  const walk = async entry => {
    if (entry.isFile) {
      const f = await new Promise((res, rej) => entry.file(res, rej));
      f.relativePath = entry.fullPath.replace(/^\//, '');
      files.push(f);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  for (const e of entries) await walk(e);
  uploadFiles(bucket, prefix, files, done);
}

function add(bucket, key, file) {
  const u = { bucket, key, file, size: file.size, parts: new Map(), state: 'queued', xhrs: new Set(), uploadId: '', fp: fingerprint(bucket, key, file) };
  u.bar = h('progress', { max: String(Math.max(1, u.size)), value: '0', 'aria-label': 'Progress of ' + key });
  u.text = h('span', { class: 'muted upload-state' }, 'queued');
  u.cancel = h('button', { type: 'button', class: 'upload-cancel', 'aria-label': 'Cancel ' + key, onclick: () => cancel(u) }, 'Cancel');
  u.resume = h('button', { type: 'button', class: 'upload-resume', hidden: true, 'aria-label': 'Resume ' + key, onclick: () => { u.state = 'queued'; u.resume.hidden = true; pump(); } }, 'Resume');
  u.row = h('li', { dataset: { key } }, h('div', {}, key), u.bar, u.text, ' ', u.resume, ' ', u.cancel);
  uploads.push(u);
  document.getElementById('upload-list').append(u.row);
  document.getElementById('uploads').hidden = false;
  renderTotal();
}

function loaded(u) {
  if (u.state === 'done') return u.size;
  let n = 0;
  for (const v of u.parts.values()) n += v;
  return n;
}

function renderTotal() {
  const live = uploads.filter(u => u.state !== 'canceled');
  const total = live.reduce((a, u) => a + u.size, 0);
  const got = live.reduce((a, u) => a + loaded(u), 0);
  const bar = document.getElementById('upload-total-bar');
  bar.max = Math.max(1, total);
  bar.value = got;
  const done = live.filter(u => u.state === 'done').length;
  document.getElementById('upload-total').textContent = done + ' of ' + live.length + ' files, ' + bytes(got) + ' of ' + bytes(total) +
    (total ? ' (' + Math.floor(100 * got / total) + '%)' : '');
}

function render(u, text) {
  u.bar.value = loaded(u);
  if (text) u.text.textContent = text;
  else if (u.state === 'running') u.text.textContent = bytes(loaded(u)) + ' of ' + bytes(u.size);
  u.row.dataset.state = u.state;
  renderTotal();
}

function pump() {
  const running = uploads.filter(u => u.state === 'running').length;
  const next = uploads.filter(u => u.state === 'queued').slice(0, Math.max(0, PARALLEL_FILES - running));
  for (const u of next) run(u);
  // Once nothing is under way, the listing is refreshed if an upload
  // finished since the last refresh.
  if (!running && !next.length && !uploads.some(u => u.state === 'queued')) {
    const fresh = uploads.filter(u => u.state === 'done' && !u.reported);
    for (const u of fresh) u.reported = true;
    if (fresh.length) onFinished();
  }
}

async function run(u) {
  u.state = 'running';
  render(u);
  try {
    if (u.size < MULTIPART_FROM) await putWhole(u);
    else await putParts(u);
    if (u.state !== 'running') return;
    u.state = 'done';
    u.cancel.hidden = true;
    render(u, 'done');
    say('Uploaded ' + u.key + '.');
  } catch (e) {
    if (u.state === 'canceled') return;
    if (e.network) {
      u.state = 'paused';
      u.resume.hidden = false;
      render(u, 'paused: the network failed; Resume continues where it stopped');
    } else {
      u.state = 'failed';
      render(u, 'failed: ' + (e.code ? e.code + ': ' + e.message : e.message));
    }
  } finally {
    pump();
  }
}

// send is one XMLHttpRequest with upload progress; a network failure
// rejects with {network: true}, an error answer with ApiError.
function send(u, method, url, body, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    u.xhrs.add(x);
    x.open(method, url);
    for (const [k, v] of Object.entries(headers || {})) x.setRequestHeader(k, v);
    x.setRequestHeader('X-Filesphere-Csrf', session.info.csrf);
    // A connection that silently stopped (no error, no progress) would
    // hang the upload: past STALL_MS it counts as a network failure.
    let last = Date.now(), stalled = false;
    const watch = setInterval(() => {
      if (Date.now() - last > STALL_MS) { stalled = true; x.abort(); }
    }, 5000);
    const done = () => { clearInterval(watch); u.xhrs.delete(x); };
    x.upload.onprogress = ev => { last = Date.now(); if (onProgress) onProgress(ev.loaded); };
    x.onprogress = () => { last = Date.now(); };
    x.onload = () => {
      done();
      if (x.status >= 200 && x.status < 300) return resolve(x);
      const d = new DOMParser().parseFromString(x.responseText || '<x/>', 'application/xml');
      let code = tag(d, 'Code'), message = tag(d, 'Message');
      if (!code && (x.responseText || '').startsWith('{')) {
        try { ({ code, message } = JSON.parse(x.responseText).error); } catch (_) { /* keep */ }
      }
      const err = new ApiError(x.status, code || 'HTTP' + x.status, message || x.statusText);
      if (x.status === 401) session.onLost(code);
      if (x.status >= 500 || code === 'SlowDown' || code === 'RequestTimeout') err.retry = true;
      reject(err);
    };
    x.onerror = () => { done(); reject(Object.assign(new Error('network error'), { network: true })); };
    x.onabort = () => {
      done();
      reject(stalled ? Object.assign(new Error('the connection stalled'), { network: true }) : Object.assign(new Error('canceled'), { canceled: true }));
    };
    x.send(body);
  });
}

async function attempt(u, fn) {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (u.state !== 'running' || !(e.network || e.retry) || i >= ATTEMPTS) throw e;
      await new Promise(r => setTimeout(r, 500 * 2 ** i));
    }
  }
}

const contentType = f => f.type || 'application/octet-stream';

async function putWhole(u) {
  u.parts = new Map([[1, 0]]);
  await attempt(u, () => send(u, 'PUT', s3url(u.bucket, u.key), u.file, { 'Content-Type': contentType(u.file) }, n => { u.parts.set(1, n); render(u); }));
  u.parts.set(1, u.size);
}

async function listParts(u) {
  const done = new Map();
  let marker = '';
  for (;;) {
    const doc = await s3xml('GET', u.bucket, u.key, { uploadId: u.uploadId, 'part-number-marker': marker || undefined });
    for (const p of all(doc, 'Part')) done.set(Number(tag(p, 'PartNumber')), { etag: tag(p, 'ETag'), size: Number(tag(p, 'Size')) });
    if (tag(doc, 'IsTruncated') !== 'true') return done;
    marker = tag(doc, 'NextPartNumberMarker');
  }
}

async function putParts(u) {
  const partSize = Math.max(MIN_PART, Math.ceil(u.size / MAX_PARTS));
  const count = Math.ceil(u.size / partSize);
  const saved = store()[u.fp];
  const etags = new Map();
  if (!u.uploadId && saved && saved.partSize === partSize) u.uploadId = saved.uploadId;
  if (u.uploadId) {
    try {
      for (const [n, p] of await listParts(u)) {
        const want = n < count ? partSize : u.size - partSize * (count - 1);
        if (p.size === want) { etags.set(n, p.etag); u.parts.set(n, want); }
      }
      u.row.dataset.resumed = String(etags.size);
      render(u, 'resuming: ' + etags.size + ' of ' + count + ' parts already stored');
    } catch (e) {
      if (e.network) throw e;
      u.uploadId = ''; // gone (completed, aborted or expired): start over
      etags.clear();
      u.parts.clear();
    }
  }
  if (!u.uploadId) {
    const doc = await s3xml('POST', u.bucket, u.key, { uploads: '' }, { headers: { 'Content-Type': contentType(u.file) } });
    u.uploadId = tag(doc, 'UploadId');
    if (u.state !== 'running') { // canceled while it was being created
      await s3('DELETE', u.bucket, u.key, { uploadId: u.uploadId }).catch(() => {});
      return;
    }
    const s = store();
    s[u.fp] = { bucket: u.bucket, key: u.key, size: u.size, modified: u.file.lastModified, uploadId: u.uploadId, partSize };
    saveStore(s);
  }
  const todo = [];
  for (let n = 1; n <= count; n++) if (!etags.has(n)) todo.push(n);
  const worker = async () => {
    while (todo.length && u.state === 'running') {
      const n = todo.shift();
      const start = (n - 1) * partSize;
      const blob = u.file.slice(start, Math.min(u.size, start + partSize));
      try {
        const x = await attempt(u, () => send(u, 'PUT', s3url(u.bucket, u.key, { partNumber: String(n), uploadId: u.uploadId }), blob, {},
          got => { u.parts.set(n, got); render(u); }));
        etags.set(n, x.getResponseHeader('ETag'));
        u.parts.set(n, blob.size);
        render(u);
      } catch (e) {
        u.parts.set(n, 0);
        todo.length = 0;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL_PARTS, todo.length) }, worker));
  const failed = results.find(r => r.status === 'rejected');
  if (failed) throw failed.reason;
  if (u.state !== 'running') return;
  let xml = '<CompleteMultipartUpload>';
  for (let n = 1; n <= count; n++) xml += '<Part><PartNumber>' + n + '</PartNumber><ETag>' + xmlEscape(etags.get(n)) + '</ETag></Part>';
  xml += '</CompleteMultipartUpload>';
  render(u, 'completing…');
  await attempt(u, () => s3('POST', u.bucket, u.key, { uploadId: u.uploadId }, { body: xml, headers: { 'Content-Type': 'application/xml' } }));
  const s = store();
  delete s[u.fp];
  saveStore(s);
}

async function cancel(u) {
  const was = u.state;
  u.state = 'canceled';
  for (const x of u.xhrs) x.abort();
  u.cancel.hidden = u.resume.hidden = true;
  render(u, 'canceled');
  if (u.uploadId && was !== 'done') {
    try {
      await s3('DELETE', u.bucket, u.key, { uploadId: u.uploadId });
    } catch (e) {
      if (e.code !== 'NoSuchUpload') say('Aborting the upload of ' + u.key + ' failed: ' + e.message, true);
    }
    const s = store();
    delete s[u.fp];
    saveStore(s);
  }
  pump();
}
