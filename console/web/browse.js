// Buckets, folders (prefixes), objects: browse, details, preview,
// download, share, versions.
import { s3, s3xml, s3url, tag, all, can, arn, consoleAPI, encodeKey } from './api.js';
import { h, field, table, bytes, when, say, guard, confirmDialog, copyButton, errorText } from './ui.js';
import { view } from './app.js';
import { uploadFiles, uploadEntries, pendingUploads, discardPending } from './upload.js';
import { withPublicRead, hasPublicRead } from './policy.js';

const PAGE = 200; // keys per listing page: a prefix of a million keys is paged, never loaded whole

export const browseHref = (bucket, prefix) => '#/b/' + encodeURIComponent(bucket) + '/' + encodeKey(prefix || '');
export const objectHref = (bucket, key, version) => '#/o/' + encodeURIComponent(bucket) + '/' + encodeKey(key) + (version ? '?v=' + encodeURIComponent(version) : '');

export async function bucketsView() {
  const list = h('tbody');
  const may = await can('arn:aws:s3:::*', ['s3:CreateBucket', 's3:ListAllMyBuckets']);
  const name = h('input', { name: 'bucket', required: true, pattern: '[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]', autocapitalize: 'off', spellcheck: 'false' });
  const create = h('form', { class: 'toolbar', id: 'create-bucket' }, field('New bucket name', name),
    h('button', { class: 'primary', type: 'submit' }, 'Create bucket'));
  create.addEventListener('submit', ev => {
    ev.preventDefault();
    guard(async () => {
      await s3('PUT', name.value.trim(), '', {});
      say('Bucket ' + name.value + ' created.');
      location.hash = browseHref(name.value.trim(), '');
    });
  });
  view('Buckets', may['s3:CreateBucket'] ? create : null,
    table(['Name', h('th', { scope: 'col', class: 'hide-narrow' }, 'Created'), 'Settings'], list, { id: 'buckets', label: 'Buckets' }));
  if (!may['s3:ListAllMyBuckets']) {
    list.append(h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'You may not list buckets; open one by its address (#/b/NAME/).')));
    return;
  }
  const doc = await s3xml('GET', null, '', {});
  const buckets = all(doc, 'Bucket');
  if (!buckets.length) list.append(h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No buckets yet.')));
  for (const b of buckets) {
    const n = tag(b, 'Name');
    list.append(h('tr', {}, h('td', { class: 'name' }, h('a', { href: browseHref(n, '') }, n)),
      h('td', { class: 'hide-narrow' }, when(tag(b, 'CreationDate'))),
      h('td', {}, h('a', { href: '#/settings/' + encodeURIComponent(n), 'aria-label': 'Settings of ' + n }, 'Settings'))));
  }
}

function crumbs(bucket, prefix) {
  const parts = prefix.split('/').filter(Boolean);
  const nav = h('nav', { class: 'crumbs', 'aria-label': 'Folder path' }, h('a', { href: '#/' }, 'Buckets'), ' / ',
    h('a', { href: browseHref(bucket, '') }, bucket));
  let acc = '';
  for (const p of parts) {
    acc += p + '/';
    nav.append(' / ', h('a', { href: browseHref(bucket, acc) }, p));
  }
  return nav;
}

export async function browseView(bucket, prefix) {
  const resource = arn.object(bucket, prefix + '*');
  const [may, mayBucket] = await Promise.all([
    can(resource, ['s3:PutObject', 's3:DeleteObject', 's3:GetObject']),
    can(arn.bucket(bucket), ['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:ListBucketVersions']),
  ]);
  const rows = h('tbody');
  const more = h('button', { type: 'button', id: 'load-more', hidden: true }, 'Load more');
  const count = h('p', { class: 'muted', id: 'listed', 'aria-live': 'polite' });
  let token = '', listed = 0;
  const load = async () => {
    more.disabled = true;
    const doc = await s3xml('GET', bucket, '', { 'list-type': '2', delimiter: '/', prefix, 'max-keys': String(PAGE), 'continuation-token': token || undefined });
    for (const cp of all(doc, 'CommonPrefixes')) {
      const p = tag(cp, 'Prefix');
      rows.append(h('tr', { dataset: { prefix: p } }, h('td', { class: 'name' }, h('a', { href: browseHref(bucket, p), class: 'folder', 'aria-label': 'Folder ' + p.slice(prefix.length) }, p.slice(prefix.length))),
        h('td', { class: 'num' }, ''), h('td', { class: 'hide-narrow' }, ''), h('td', {}, '')));
      listed++;
    }
    for (const c of all(doc, 'Contents')) {
      const key = tag(c, 'Key');
      if (key === prefix) continue; // the folder's own marker object
      const actions = h('td', {});
      if (may['s3:GetObject']) actions.append(h('a', { class: 'button', href: downloadURL(bucket, key), download: '', 'aria-label': 'Download ' + key }, 'Download'), ' ');
      if (may['s3:DeleteObject']) {
        actions.append(h('button', {
          type: 'button', class: 'danger', 'aria-label': 'Delete ' + key, onclick: () => guard(async () => {
            if (!await confirmDialog('Delete object?', h('p', {}, 'Delete ', h('strong', {}, key), '? In a versioned bucket this adds a delete marker; old versions stay.'), 'Delete', true)) return;
            await s3('DELETE', bucket, key, {});
            say('Deleted ' + key + '.');
            route();
          }),
        }, 'Delete'));
      }
      rows.append(h('tr', { dataset: { key } }, h('td', { class: 'name' }, h('a', { href: objectHref(bucket, key) }, key.slice(prefix.length))),
        h('td', { class: 'num' }, bytes(Number(tag(c, 'Size')))), h('td', { class: 'hide-narrow' }, when(tag(c, 'LastModified'))), actions));
      listed++;
    }
    token = tag(doc, 'NextContinuationToken');
    more.hidden = tag(doc, 'IsTruncated') !== 'true';
    more.disabled = false;
    count.textContent = listed + (more.hidden ? ' entries.' : ' entries so far; more follow.');
    if (!listed) rows.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'This folder is empty.')));
  };
  more.addEventListener('click', () => guard(load));
  // Refreshes this folder, unless the user has gone elsewhere meanwhile.
  const here = location.hash;
  const route = () => { if (location.hash === here) browseView(bucket, prefix); };

  const tools = h('div', { class: 'toolbar' });
  if (may['s3:PutObject']) {
    const files = h('input', { type: 'file', multiple: true, id: 'upload-files', class: 'visually-file' });
    const folder = h('input', { type: 'file', multiple: true, webkitdirectory: true, id: 'upload-folder' });
    files.addEventListener('change', () => { uploadFiles(bucket, prefix, Array.from(files.files), route); files.value = ''; });
    folder.addEventListener('change', () => { uploadFiles(bucket, prefix, Array.from(folder.files), route); folder.value = ''; });
    tools.append(field('Upload files', files), field('Upload a folder', folder));
    const name = h('input', { id: 'new-folder', autocapitalize: 'off', spellcheck: 'false' });
    const mk = h('form', { class: 'toolbar' }, field('New folder', name), h('button', { type: 'submit' }, 'Create folder'));
    mk.addEventListener('submit', ev => {
      ev.preventDefault();
      const n = name.value.replace(/^\/+|\/+$/g, '');
      if (!n) return;
      guard(async () => { await s3('PUT', bucket, prefix + n + '/', {}, { body: '' }); location.hash = browseHref(bucket, prefix + n + '/'); });
    });
    tools.append(mk);
  }
  if (mayBucket['s3:PutBucketPolicy'] && mayBucket['s3:GetBucketPolicy']) tools.append(await publicToggle(bucket, prefix));
  tools.append(h('a', { class: 'button', href: '#/settings/' + encodeURIComponent(bucket) }, 'Bucket settings'));

  const zone = h('div', { class: 'dropzone', id: 'dropzone' },
    may['s3:PutObject'] ? h('p', { class: 'muted' }, 'Drop files or folders here to upload them into this folder.') : null,
    table(['Name', h('th', { scope: 'col', class: 'num' }, 'Size'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Last modified'), 'Actions'], rows,
      { id: 'objects', label: 'Objects in ' + (prefix || bucket) }), count, more);
  if (may['s3:PutObject']) {
    zone.addEventListener('dragover', ev => { ev.preventDefault(); zone.classList.add('over'); });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', ev => {
      ev.preventDefault();
      zone.classList.remove('over');
      uploadEntries(bucket, prefix, ev.dataTransfer, route);
    });
  }
  const pending = pendingList(bucket);
  view(prefix ? prefix : bucket, crumbs(bucket, prefix), tools, pending, zone);
  await load();
}

// pendingList shows this bucket's unfinished multipart uploads kept for
// resuming (choosing the same file again resumes it).
function pendingList(bucket) {
  const items = pendingUploads().filter(p => p.bucket === bucket);
  if (!items.length) return null;
  return h('section', { class: 'card', 'aria-labelledby': 'pending-title', id: 'pending' }, h('h2', { id: 'pending-title' }, 'Unfinished uploads'),
    h('p', { class: 'muted' }, 'Choose the same file again (same name, size and date) in the same folder to resume it, or discard it.'),
    h('ul', {}, items.map(p => h('li', {}, p.key + ' (' + bytes(p.size) + ') ',
      h('button', { type: 'button', onclick: () => guard(async () => { await discardPending(p); location.reload(); }) }, 'Discard')))));
}

async function readPolicy(bucket) {
  try {
    const r = await s3('GET', bucket, '', { policy: '' });
    return await r.text();
  } catch (e) {
    if (e.code === 'NoSuchBucketPolicy') return '';
    throw e;
  }
}

// publicToggle writes (or removes) a statement of the bucket policy that
// lets anyone read the objects under the prefix.
async function publicToggle(bucket, prefix) {
  const current = await readPolicy(bucket).catch(() => '');
  const box = h('input', { type: 'checkbox', id: 'public-read' });
  box.checked = hasPublicRead(current, prefix);
  box.addEventListener('change', () => guard(async () => {
    const on = box.checked;
    box.disabled = true;
    try {
      const latest = await readPolicy(bucket);
      const next = withPublicRead(latest, bucket, prefix, on);
      if (next === null) await s3('DELETE', bucket, '', { policy: '' });
      else await s3('PUT', bucket, '', { policy: '' }, { body: next, headers: { 'Content-Type': 'application/json' } });
      say(on ? 'Anyone may now read ' + (prefix || 'the whole bucket') + '.' : 'Public read of ' + (prefix || 'the bucket') + ' removed.');
    } catch (e) {
      box.checked = !on;
      throw e;
    } finally {
      box.disabled = false;
    }
  }));
  return h('span', {}, box, ' ', h('label', { for: 'public-read' }, 'Public read of ' + (prefix ? 'this folder' : 'this bucket')));
}

export function downloadURL(bucket, key, version) {
  const name = key.split('/').pop() || 'download';
  return s3url(bucket, key, { versionId: version || undefined, 'response-content-disposition': 'attachment; filename*=UTF-8\'\'' + encodeURIComponent(name) });
}

const textTypes = /^(text\/|application\/(json|xml|javascript|x-yaml|yaml|x-sh|toml|csv))/;
const textExt = /\.(txt|md|csv|json|xml|ya?ml|log|ini|conf|toml|sh|go|js|py|html?|css)$/i;
const imageTypes = /^image\/(png|jpeg|gif|webp|avif|bmp|svg\+xml)$/;

// preview shows an image, the start of a text or a PDF, built from the
// bytes in the page (never the object as a document of this origin).
async function preview(bucket, key, version, type, size) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'preview-title', id: 'preview' }, h('h2', { id: 'preview-title' }, 'Preview'));
  const params = { versionId: version || undefined };
  if (imageTypes.test(type)) {
    box.append(h('img', { class: 'preview', src: s3url(bucket, key, params), alt: 'Preview of ' + key }));
  } else if (textTypes.test(type) || textExt.test(key)) {
    const max = 64 * 1024;
    const r = await s3('GET', bucket, key, params, { headers: { Range: 'bytes=0-' + (max - 1) } });
    const text = await r.text();
    box.append(h('pre', { class: 'preview', tabindex: '0', 'aria-label': 'Text of ' + key }, text));
    if (size > max) box.append(h('p', { class: 'muted' }, 'The first ' + bytes(max) + ' of ' + bytes(size) + '.'));
  } else if (type === 'application/pdf' || /\.pdf$/i.test(key)) {
    const r = await s3('GET', bucket, key, params);
    const blob = new Blob([await r.arrayBuffer()], { type: 'application/pdf' });
    box.append(h('iframe', { class: 'preview', src: URL.createObjectURL(blob), title: 'PDF preview of ' + key }));
  } else {
    return null;
  }
  return box;
}

function shareBox(bucket, key, version) {
  const sel = h('select', { id: 'share-expiry' },
    [['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days'], ['600', '10 minutes']].map(([v, t]) => h('option', { value: v }, t)));
  const out = h('input', { class: 'link', readonly: true, id: 'share-url', 'aria-label': 'Shared link' });
  const note = h('p', { class: 'muted', id: 'share-note', 'aria-live': 'polite' });
  const copy = copyButton(out, 'Copy link');
  copy.hidden = true;
  out.hidden = true;
  const make = h('button', {
    type: 'button', id: 'share-create', class: 'primary', onclick: () => guard(async () => {
      const a = await consoleAPI('POST', 'presign', { bucket, key, versionId: version || undefined, expiresSeconds: Number(sel.value) });
      out.value = a.url;
      out.hidden = copy.hidden = false;
      note.textContent = 'Anyone with this link can download the object until ' + new Date(a.expires).toLocaleString() +
        (a.capped ? ' (your session ends then, and the link with it).' : '.');
    }),
  }, 'Create link');
  return h('section', { class: 'card', 'aria-labelledby': 'share-title' }, h('h2', { id: 'share-title' }, 'Share'),
    h('div', { class: 'toolbar' }, field('Link expires after', sel), make), out, ' ', copy, note);
}

function headerProps(resp) {
  const hd = resp.headers;
  const props = [
    ['Size', bytes(Number(hd.get('Content-Length'))) + ' (' + hd.get('Content-Length') + ' bytes)'],
    ['Type', hd.get('Content-Type')], ['ETag', hd.get('ETag')], ['Last modified', when(hd.get('Last-Modified'))],
    ['Version', hd.get('x-amz-version-id')], ['Storage class', hd.get('x-amz-storage-class') || 'STANDARD'],
    ['Encryption', hd.get('x-amz-server-side-encryption') || 'none'],
  ];
  for (const a of ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256']) {
    const v = hd.get('x-amz-checksum-' + a);
    if (v) props.push(['Checksum ' + a.toUpperCase(), v]);
  }
  for (const [k, v] of hd.entries()) {
    if (k.startsWith('x-amz-meta-')) props.push(['Metadata ' + k.slice(11), v]);
  }
  // The answer's own Cache-Control is the console's (no-store); the
  // object's comes in its own header.
  if (hd.get('x-filesphere-object-cache-control')) props.push(['Cache-Control', hd.get('x-filesphere-object-cache-control')]);
  for (const k of ['content-disposition', 'content-encoding', 'content-language', 'expires']) {
    if (hd.get(k)) props.push([k, hd.get(k)]);
  }
  return props;
}

export async function objectView(bucket, key, version) {
  const objARN = arn.object(bucket, key);
  const may = await can(objARN, ['s3:GetObject', 's3:DeleteObject', 's3:GetObjectTagging', 's3:PutObject', 's3:GetObjectVersion', 's3:DeleteObjectVersion']);
  const mayB = await can(arn.bucket(bucket), ['s3:ListBucketVersions']);
  const parent = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  const parts = [crumbs(bucket, parent)];
  let head = null, headErr = null;
  try {
    head = await s3('HEAD', bucket, key, { versionId: version || undefined }, { headers: { 'x-amz-checksum-mode': 'ENABLED' } });
  } catch (e) {
    headErr = e;
  }
  if (head) {
    const props = h('dl', { class: 'props', id: 'object-props' }, headerProps(head).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '')]));
    const actions = h('div', { class: 'toolbar' });
    if (may['s3:GetObject']) actions.append(h('a', { class: 'button primary', href: downloadURL(bucket, key, version), download: '', id: 'download' }, 'Download'));
    if (may['s3:DeleteObject'] && !version) {
      actions.append(h('button', {
        type: 'button', class: 'danger', id: 'delete-object', onclick: () => guard(async () => {
          if (!await confirmDialog('Delete object?', h('p', {}, 'Delete ', h('strong', {}, key), '?'), 'Delete', true)) return;
          await s3('DELETE', bucket, key, {});
          say('Deleted ' + key + '.');
          location.hash = browseHref(bucket, parent);
        }),
      }, 'Delete'));
    }
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'props-title' }, h('h2', { id: 'props-title' }, version ? 'Version ' + version : 'Details'), props, actions));
    if (may['s3:GetObjectTagging']) {
      const tags = await s3xml('GET', bucket, key, { tagging: '', versionId: version || undefined }).catch(() => null);
      const list = all(tags, 'Tag');
      parts.push(h('section', { class: 'card', 'aria-labelledby': 'tags-title' }, h('h2', { id: 'tags-title' }, 'Tags'),
        list.length ? h('dl', { class: 'props' }, list.map(t => [h('dt', {}, tag(t, 'Key')), h('dd', {}, tag(t, 'Value'))])) : h('p', { class: 'muted' }, 'No tags.')));
    }
    if (may['s3:GetObject']) {
      const pv = await preview(bucket, key, version, head.headers.get('Content-Type') || '', Number(head.headers.get('Content-Length'))).catch(e => h('p', { class: 'error' }, errorText(e)));
      if (pv) parts.push(pv);
      parts.push(shareBox(bucket, key, version));
    }
  } else if (headErr.status === 404) {
    parts.push(h('p', { class: 'warn', id: 'object-deleted' }, 'This object has no current version: it was deleted (its latest version is a delete marker) or never existed.'));
  } else {
    parts.push(h('p', { class: 'error', role: 'alert' }, errorText(headErr)));
  }
  if (mayB['s3:ListBucketVersions']) parts.push(await versionsBox(bucket, key, may));
  view(key.split('/').pop() || key, ...parts);
}

// versionsBox lists the key's versions and delete markers, with download,
// restore (copy to the top) and undelete (remove the newest marker).
async function versionsBox(bucket, key, may) {
  const rows = h('tbody');
  const box = h('section', { class: 'card', 'aria-labelledby': 'versions-title', id: 'versions' }, h('h2', { id: 'versions-title' }, 'Versions'),
    table(['Version', 'Modified', h('th', { scope: 'col', class: 'num' }, 'Size'), 'Actions'], rows, { id: 'versions-table', label: 'Versions of ' + key }));
  let keyMarker = '', versionMarker = '', shown = 0;
  const versions = [];
  for (let page = 0; page < 20; page++) { // up to 20 pages of 1000 entries
    const doc = await s3xml('GET', bucket, '', { versions: '', prefix: key, 'max-keys': '1000', 'key-marker': keyMarker || undefined, 'version-id-marker': versionMarker || undefined });
    for (const el of Array.from(doc.documentElement.children)) {
      if ((el.localName === 'Version' || el.localName === 'DeleteMarker') && tag(el, 'Key') === key) {
        versions.push({ marker: el.localName === 'DeleteMarker', id: tag(el, 'VersionId'), latest: tag(el, 'IsLatest') === 'true',
          modified: tag(el, 'LastModified'), size: Number(tag(el, 'Size')), etag: tag(el, 'ETag') });
      }
    }
    if (tag(doc, 'IsTruncated') !== 'true' || tag(doc, 'NextKeyMarker') !== key) break;
    keyMarker = tag(doc, 'NextKeyMarker');
    versionMarker = tag(doc, 'NextVersionIdMarker');
  }
  const reload = () => objectView(bucket, key, '');
  for (const v of versions) {
    const actions = h('td', {});
    if (v.marker) {
      if (v.latest && may['s3:DeleteObjectVersion']) {
        actions.append(h('button', {
          type: 'button', class: 'undelete', onclick: () => guard(async () => {
            await s3('DELETE', bucket, key, { versionId: v.id });
            say('Undeleted ' + key + ': its delete marker is removed.');
            reload();
          }),
        }, 'Undelete'));
      }
    } else {
      if (may['s3:GetObjectVersion']) actions.append(h('a', { class: 'button', href: downloadURL(bucket, key, v.id), download: '' }, 'Download'), ' ',
        h('a', { class: 'button', href: objectHref(bucket, key, v.id) }, 'View'), ' ');
      if (!v.latest && may['s3:PutObject'] && may['s3:GetObjectVersion']) {
        actions.append(h('button', {
          type: 'button', class: 'restore', 'aria-label': 'Restore version ' + v.id, onclick: () => guard(async () => {
            const src = encodeURIComponent(bucket) + '/' + encodeKey(key) + '?versionId=' + encodeURIComponent(v.id);
            await s3('PUT', bucket, key, {}, { headers: { 'x-amz-copy-source': src } });
            say('Version ' + v.id + ' restored as the current version.');
            reload();
          }),
        }, 'Restore'), ' ');
      }
      if (may['s3:DeleteObjectVersion']) {
        actions.append(h('button', {
          type: 'button', class: 'danger', 'aria-label': 'Delete version ' + v.id, onclick: () => guard(async () => {
            if (!await confirmDialog('Delete this version for good?', h('p', {}, 'Version ' + v.id + ' of ' + key + ' cannot be recovered.'), 'Delete version', true)) return;
            await s3('DELETE', bucket, key, { versionId: v.id });
            reload();
          }),
        }, 'Delete'));
      }
    }
    rows.append(h('tr', { dataset: { version: v.id, marker: String(v.marker), latest: String(v.latest) } },
      h('td', { class: 'name version-id' }, (v.marker ? 'Delete marker ' : '') + v.id + (v.latest ? ' (latest)' : '')),
      h('td', {}, when(v.modified)), h('td', { class: 'num' }, v.marker ? '' : bytes(v.size)), actions));
    shown++;
  }
  if (!shown) rows.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No versions.')));
  return box;
}

