// The FileSphere console: a hash-routed single-page application. It never
// holds credentials; see api.js.
import { session, consoleAPI, can, ApiError } from './api.js';
import { h, field, errorText, say } from './ui.js';
import { bucketsView, browseView, objectView } from './browse.js';
import { settingsView } from './settings.js';
import { adminView } from './admin.js';
import { clusterView } from './cluster.js';
import { initUploads } from './upload.js';

const main = () => document.getElementById('main');

// view replaces the page's content, titles it and moves focus to it.
export function view(title, ...content) {
  const heading = h('h1', { id: 'page-title' }, title);
  main().replaceChildren(heading, ...content.filter(Boolean));
  document.title = title + ' · FileSphere';
  main().focus();
  return heading;
}

let stopCurrent = () => {};

const routes = [
  [/^#?\/?$/, () => bucketsView()],
  [/^#\/b\/([^/]+)\/?(.*)$/, (b, p) => browseView(b, p)],
  [/^#\/o\/([^/]+)\/([^?]+)(?:\?v=(.*))?$/, (b, k, v) => objectView(b, k, v)],
  [/^#\/settings\/([^/]+)$/, b => settingsView(b)],
  [/^#\/admin\/?(\w*)\/?(.*)$/, (tab, arg) => adminView(tab || 'users', arg)],
  [/^#\/cluster$/, () => clusterView()],
];

async function route() {
  if (!session.info) return;
  stopCurrent();
  stopCurrent = () => {};
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('[data-nav]')) {
    const on = (a.dataset.nav === 'buckets' && /^#\/?($|b\/|o\/|settings\/)/.test(hash)) || hash.startsWith('#/' + a.dataset.nav);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  for (const [re, fn] of routes) {
    const m = re.exec(hash);
    if (m) {
      try {
        const stop = await fn(...m.slice(1).map(s => decodeURIComponent(s || '')));
        if (typeof stop === 'function') stopCurrent = stop;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) view('Error', h('p', { class: 'error', role: 'alert' }, errorText(e)));
      }
      return;
    }
  }
  view('Not found', h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Go to the buckets.')));
}

function loginView(options, message) {
  document.getElementById('top').hidden = true;
  const ak = h('input', { name: 'accessKeyId', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const sk = h('input', { name: 'secretAccessKey', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' }, message || '');
  const form = h('form', { class: 'card login', id: 'login', 'aria-labelledby': 'page-title' },
    field('Access key ID', ak), field('Secret access key', sk), err,
    h('button', { class: 'primary', type: 'submit' }, 'Log in'),
    options && options.webIdentity ? h('p', {}, h('a', { class: 'button', href: '/api/login/web-identity', id: 'login-web-identity' }, 'Log in with FileSphere')) : null,
    h('p', { class: 'muted' }, 'On a first start, log in with the root access key the server printed. The secret key signs one STS GetSessionToken request and is not kept; the console holds the temporary credentials it returns, and the session ends with them.'));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    err.textContent = '';
    try {
      session.info = await consoleAPI('POST', 'login', { accessKeyId: ak.value.trim(), secretAccessKey: sk.value });
      sk.value = '';
      await started();
    } catch (e) {
      err.textContent = errorText(e);
    }
  });
  const heading = h('h1', { id: 'page-title' }, 'Log in to FileSphere');
  main().replaceChildren(h('div', { class: 'login' }, heading, form));
  document.title = 'Log in · FileSphere';
  ak.focus();
}

async function started() {
  const s = session.info;
  document.getElementById('top').hidden = false;
  const name = s.root ? 'root' : s.arn.split('/').pop();
  const who = document.getElementById('who');
  who.textContent = name + ' · until ' + new Date(s.expires).toLocaleTimeString();
  who.title = s.arn;
  const may = await can('*', ['iam:ListUsers', 'admin:ServerInfo']);
  document.getElementById('nav-admin').hidden = !may['iam:ListUsers'];
  document.getElementById('nav-cluster').hidden = !may['admin:ServerInfo'];
  initUploads();
  // The session ends with its credentials; say so when it does.
  clearTimeout(started.timer);
  started.timer = setTimeout(() => lost('SessionExpired'), Math.max(0, new Date(s.expires) - Date.now()));
  await route();
}

async function lost(code) {
  if (!session.info) return;
  session.info = null;
  stopCurrent();
  const resp = await fetch('/api/session', { credentials: 'same-origin' });
  const body = await resp.json().catch(() => ({}));
  loginView(body.options, code === 'SessionExpired' ? 'Your session expired with its credentials. Log in again.' : 'Log in again.');
}

async function boot() {
  // Failures nobody caught are shown, not swallowed.
  window.addEventListener('error', ev => say('Error: ' + ev.message, true));
  window.addEventListener('unhandledrejection', ev => say('Error: ' + errorText(ev.reason), true));
  session.onLost = lost;
  window.addEventListener('hashchange', route);
  document.getElementById('logout').addEventListener('click', async () => {
    try { await consoleAPI('POST', 'logout'); } catch (_) { /* gone already */ }
    session.info = null;
    stopCurrent();
    // The next person starts at the buckets, not on this one's page.
    history.replaceState(null, '', location.pathname + '#/');
    const resp = await fetch('/api/session', { credentials: 'same-origin' });
    loginView((await resp.json().catch(() => ({}))).options, '');
    say('Logged out.');
  });
  const resp = await fetch('/api/session', { credentials: 'same-origin' });
  const body = await resp.json();
  if (resp.ok) {
    session.info = body;
    await started();
  } else {
    // A refused "Log in with FileSphere" comes back with its reason.
    const refused = new URLSearchParams(location.search).get('login_error');
    if (refused) history.replaceState(null, '', '/' + location.hash);
    loginView(body.options, refused || '');
  }
}

boot();
