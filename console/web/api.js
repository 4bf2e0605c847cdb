// The console's client of its backend. Every call goes to the console's
// own origin; the backend signs it with the session's credentials and
// hands it to the S3 API, which authorizes it as the user's request.

export const session = { info: null, onLost: () => {} };

// ApiError is an error answer: the console's JSON, S3's <Error> or the
// Query APIs' <ErrorResponse>.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(resp) {
  const text = await resp.text();
  let code = 'HTTP' + resp.status, message = resp.statusText;
  if (text.startsWith('{')) {
    try {
      const j = JSON.parse(text);
      code = j.error.code; message = j.error.message;
    } catch (_) { /* keep the status */ }
  } else if (text.includes('<')) {
    const d = new DOMParser().parseFromString(text, 'application/xml');
    code = tag(d, 'Code') || code;
    message = tag(d, 'Message') || message;
  } else if (resp.status === 404) {
    code = 'NotFound';
  }
  if (resp.status === 401 && (code === 'SessionExpired' || code === 'NotLoggedIn')) session.onLost(code);
  return new ApiError(resp.status, code, message);
}

// encodeKey percent-encodes an object key for a path, '/' kept.
export function encodeKey(key) {
  return key.split('/').map(s => encodeURIComponent(s).replace(/[!'()*]/g,
    c => '%' + c.charCodeAt(0).toString(16).toUpperCase())).join('/');
}

export function s3path(bucket, key) {
  let p = '/' + encodeURIComponent(bucket);
  if (key) p += '/' + encodeKey(key);
  return p;
}

export function query(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null) continue;
    // An array is the parameter repeated (redirect_uri=a&redirect_uri=b).
    for (const one of [].concat(v)) parts.push(one === '' ? encodeURIComponent(k) : encodeURIComponent(k) + '=' + encodeURIComponent(one));
  }
  return parts.length ? '?' + parts.join('&') : '';
}

// s3url is the console URL of an S3 request (for links and images too).
export function s3url(bucket, key, params) {
  return '/api/s3' + s3path(bucket, key) + query(params);
}

function csrfHeaders(headers) {
  const h = Object.assign({}, headers || {});
  if (session.info) h['X-Filesphere-Csrf'] = session.info.csrf;
  return h;
}

// s3 sends one S3 (or admin) request and returns the Response; an error
// answer throws ApiError.
export async function s3(method, bucket, key, params, opts = {}) {
  const url = bucket === null ? '/api/s3/' + (key || '') + query(params) : s3url(bucket, key, params);
  const resp = await fetch(url, { method, headers: csrfHeaders(opts.headers), body: opts.body, credentials: 'same-origin', signal: opts.signal });
  if (!resp.ok) throw await errorOf(resp);
  return resp;
}

export async function s3xml(method, bucket, key, params, opts) {
  const resp = await s3(method, bucket, key, params, opts);
  const text = await resp.text();
  return text ? new DOMParser().parseFromString(text, 'application/xml') : null;
}

// admin calls the admin API (JSON answers).
export async function admin(method, path, params) {
  const resp = await s3(method, null, '.filesphere/admin/v1/' + path, params);
  const ct = resp.headers.get('Content-Type') || '';
  return ct.includes('json') ? resp.json() : resp.text();
}

// iam calls the IAM Query API (STS with service 'sts').
export async function iam(action, params, service = 'iam') {
  const form = new URLSearchParams({ Action: action, Version: service === 'iam' ? '2010-05-08' : '2011-06-15' });
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== '') form.set(k, v);
  const resp = await fetch('/api/' + service, {
    method: 'POST', credentials: 'same-origin', body: form.toString(),
    headers: csrfHeaders({ 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' }),
  });
  if (!resp.ok) throw await errorOf(resp);
  return new DOMParser().parseFromString(await resp.text(), 'application/xml');
}

export async function consoleAPI(method, path, body) {
  const resp = await fetch('/api/' + path, {
    method, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
    headers: csrfHeaders(body === undefined ? {} : { 'Content-Type': 'application/json' }),
  });
  if (!resp.ok) throw await errorOf(resp);
  return resp.status === 204 ? null : resp.json();
}

// can asks the server which of the actions the user may take on the
// resource (authz/check, answered from the real decision). A failed
// question counts as "no": the server decides each real request anyway.
export async function can(resource, actions) {
  const parts = ['resource=' + encodeURIComponent(resource)];
  for (const a of actions) parts.push('action=' + encodeURIComponent(a));
  try {
    const resp = await s3('GET', null, '.filesphere/admin/v1/authz/check?' + parts.join('&'));
    return (await resp.json()).allowed;
  } catch (e) {
    if (e.code === 'SessionExpired' || e.code === 'NotLoggedIn') throw e;
    return Object.fromEntries(actions.map(a => [a, false]));
  }
}

export const arn = {
  bucket: b => 'arn:aws:s3:::' + b,
  object: (b, k) => 'arn:aws:s3:::' + b + '/' + k,
};

// XML helpers.
export function tag(node, name) {
  const el = node && node.getElementsByTagName(name)[0];
  return el ? el.textContent : '';
}
export function all(node, name) {
  return node ? Array.from(node.getElementsByTagName(name)) : [];
}
// children returns the direct child elements named name.
export function children(node, name) {
  return node ? Array.from(node.children).filter(c => c.localName === name) : [];
}
export function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }[c]));
}

// sha256Base64 is the x-amz-checksum-sha256 of data where WebCrypto exists
// (secure contexts); undefined otherwise, and the backend then adds a
// Content-MD5.
export async function sha256Base64(data) {
  if (!globalThis.crypto || !crypto.subtle) return undefined;
  const buf = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(data));
  return btoa(String.fromCharCode(...new Uint8Array(buf)));
}
