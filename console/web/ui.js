// Small DOM helpers shared by the views.

// h builds an element: h('a', {href: '#'}, 'text', child...). Attributes
// starting with "on" are listeners; text is always text, never HTML.
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

let ids = 0;
// field is a labelled input: label text, then the control.
export function field(label, control, hint) {
  if (!control.id) control.id = 'f' + (++ids);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint ? h('span', { class: 'muted' }, hint) : null);
}

// table builds a table; rows is an array of rows or a tbody to fill later.
export function table(headers, rows, opts = {}) {
  const body = rows instanceof HTMLTableSectionElement ? rows : h('tbody', {}, rows);
  return h('div', { class: 'table-wrap' }, h('table', { id: opts.id, 'aria-label': opts.label },
    h('thead', {}, h('tr', {}, headers.map(c => typeof c === 'string' ? h('th', { scope: 'col' }, c) : c))), body));
}

export function bytes(n) {
  if (n === undefined || n === null || isNaN(n)) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0, v = Number(n);
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + u[i];
}

export function when(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString();
}

let statusTimer;
// say shows a short message in the live region (screen readers hear it).
export function say(msg, bad) {
  const el = document.getElementById('status');
  el.textContent = msg;
  el.classList.toggle('bad', !!bad);
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { el.textContent = ''; }, bad ? 8000 : 4000);
}

export function errorText(e) {
  return e && e.code ? e.code + ': ' + e.message : String(e && e.message || e);
}

// guard runs an action, reporting its failure.
export async function guard(fn) {
  try {
    return await fn();
  } catch (e) {
    say(errorText(e), true);
    return undefined;
  }
}

// confirmDialog asks a question in the page's dialog; body is nodes.
export function confirmDialog(title, body, okText = 'OK', danger = false) {
  const dlg = document.getElementById('dialog');
  document.getElementById('dialog-title').textContent = title;
  const b = document.getElementById('dialog-body');
  b.replaceChildren(...[].concat(body));
  const ok = document.getElementById('dialog-ok');
  ok.textContent = okText;
  ok.classList.toggle('danger', danger);
  ok.classList.toggle('primary', !danger);
  document.getElementById('dialog-cancel').hidden = false;
  return new Promise(resolve => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.returnValue = '';
    dlg.showModal();
  });
}

// showOnce shows something (a new secret) in the dialog with one button.
export function showOnce(title, body) {
  const dlg = document.getElementById('dialog');
  document.getElementById('dialog-title').textContent = title;
  document.getElementById('dialog-body').replaceChildren(...[].concat(body));
  const ok = document.getElementById('dialog-ok');
  ok.textContent = 'Done';
  ok.classList.remove('danger');
  ok.classList.add('primary');
  document.getElementById('dialog-cancel').hidden = true;
  return new Promise(resolve => {
    dlg.addEventListener('close', () => { document.getElementById('dialog-cancel').hidden = false; resolve(); }, { once: true });
    dlg.showModal();
  });
}

// copyButton copies the value of an input.
export function copyButton(input, label = 'Copy') {
  return h('button', {
    type: 'button', onclick: async () => {
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (_) {
        input.select();
        document.execCommand('copy');
      }
      say('Copied to the clipboard.');
    },
  }, label);
}

// editor is a code editor with line numbers, whose error line can be
// marked: {el, textarea, mark(line, message), clear()}.
export function editor(label, value, id) {
  const ta = h('textarea', { id, spellcheck: 'false', autocapitalize: 'off', 'aria-describedby': id + '-err' });
  ta.value = value || '';
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const err = h('p', { class: 'error', id: id + '-err', role: 'alert' });
  let bad = 0;
  const render = () => {
    const n = ta.value.split('\n').length;
    gutter.replaceChildren(...Array.from({ length: n }, (_, i) => h('div', { class: i + 1 === bad ? 'bad' : '' }, String(i + 1))));
  };
  ta.addEventListener('input', render);
  ta.addEventListener('scroll', () => { gutter.scrollTop = ta.scrollTop; });
  render();
  const el = h('div', {}, h('label', { for: id }, label), h('div', { class: 'editor' }, gutter, ta), err);
  return {
    el, textarea: ta,
    mark(line, message) {
      bad = line || 0;
      err.textContent = line ? 'Line ' + line + ': ' + message : message;
      render();
      if (line) {
        const lines = ta.value.split('\n');
        const start = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
        ta.focus();
        ta.setSelectionRange(start, start + (lines[line - 1] || '').length);
      }
    },
    clear() { bad = 0; err.textContent = ''; render(); },
  };
}
