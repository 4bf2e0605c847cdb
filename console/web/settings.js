// Bucket settings: versioning, deduplication (the admin API), policy
// (editor placing errors at their line), encryption, CORS and lifecycle as
// the server offers them, and deleting the bucket.
import { s3, s3xml, tag, can, arn, session, sha256Base64, admin } from './api.js';
import { h, field, say, guard, confirmDialog, editor, errorText, bytes } from './ui.js';
import { view } from './app.js';
import { browseHref } from './browse.js';
import { bucketTemplates, checkSyntax, serverErrorLine } from './policy.js';

async function getText(bucket, sub) {
  try {
    return await (await s3('GET', bucket, '', { [sub]: '' })).text();
  } catch (e) {
    if (/^NoSuch/.test(e.code) || e.code === 'ServerSideEncryptionConfigurationNotFoundError') return '';
    throw e;
  }
}

function section(id, title, ...body) {
  return h('section', { class: 'card', id, 'aria-labelledby': id + '-title' }, h('h2', { id: id + '-title' }, title), ...body);
}

async function versioning(bucket, may) {
  const status = h('p', { id: 'versioning-status' });
  const box = section('versioning', 'Versioning', status);
  const show = async () => {
    const doc = await s3xml('GET', bucket, '', { versioning: '' });
    const st = tag(doc, 'Status') || 'Never enabled';
    status.textContent = 'Status: ' + st;
    return st;
  };
  const st = await show();
  if (may['s3:PutBucketVersioning']) {
    const set = to => guard(async () => {
      const body = '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>' + to + '</Status></VersioningConfiguration>';
      await s3('PUT', bucket, '', { versioning: '' }, { body, headers: { 'Content-Type': 'application/xml' } });
      say('Versioning ' + to.toLowerCase() + '.');
      await show();
    });
    box.append(h('div', { class: 'toolbar' },
      h('button', { type: 'button', id: 'versioning-enable', class: st === 'Enabled' ? '' : 'primary', onclick: () => set('Enabled') }, 'Enable versioning'),
      h('button', { type: 'button', id: 'versioning-suspend', onclick: () => set('Suspended') }, 'Suspend versioning')));
  }
  return box;
}

// dedupBox shows a bucket's deduplication (admin:DedupStatus) and, to a
// user who may change it (admin:Dedup), a switch.
async function dedupBox(bucket, mayChange) {
  const status = h('p', { id: 'dedup-status' });
  const facts = h('dl', { class: 'props', id: 'dedup-facts' });
  const toggle = mayChange ? h('input', { type: 'checkbox', role: 'switch', id: 'dedup-switch' }) : null;
  const show = st => {
    status.textContent = 'Status: ' + (st.enabled ? 'Enabled' : 'Disabled');
    status.dataset.enabled = String(st.enabled);
    facts.dataset.ratio = String(st.ratio);
    const row = (k, v, id) => [h('dt', {}, k), h('dd', { id }, v)];
    facts.replaceChildren(...row('Logical bytes', bytes(st.logical_bytes) + ' (' + st.logical_bytes + ' B)', 'dedup-logical'),
      ...row('Stored bytes', bytes(st.stored_bytes) + ' (' + st.stored_bytes + ' B), in ' + (st.chunks - st.pending_gc) + ' chunks', 'dedup-stored'),
      ...row('Ratio', st.stored_bytes ? st.ratio.toFixed(2) + '×' : '—', 'dedup-ratio'),
      ...row('Chunks pending GC', st.pending_gc + ' (' + bytes(st.pending_gc_bytes) + ')', 'dedup-pending'));
    if (toggle) toggle.checked = st.enabled;
  };
  const refresh = async () => show(await admin('GET', 'dedup', { bucket }));
  await refresh();
  const box = section('dedup', 'Deduplication', status, facts,
    h('p', { class: 'muted' }, 'New objects are split into content-defined chunks, each stored once; stored objects keep how they were stored. SSE-C objects are never deduplicated.'));
  const tools = h('div', { class: 'toolbar' });
  if (toggle) {
    toggle.addEventListener('change', () => guard(async () => {
      const on = toggle.checked;
      try {
        show(await admin('POST', 'dedup', { bucket, state: on ? 'enabled' : 'disabled' }));
        say('Deduplication ' + (on ? 'enabled' : 'disabled') + '.');
      } catch (e) {
        toggle.checked = !on;
        throw e;
      }
    }));
    tools.append(h('div', { class: 'field' }, h('label', { for: toggle.id }, toggle, ' Deduplicate new objects')));
  }
  tools.append(h('button', { type: 'button', id: 'dedup-refresh', onclick: () => guard(refresh) }, 'Refresh'));
  box.append(tools);
  return box;
}

async function policyBox(bucket, may) {
  const text = await getText(bucket, 'policy');
  const ed = editor('Bucket policy (JSON)', text, 'policy-text');
  const box = section('policy', 'Bucket policy', ed.el);
  ed.textarea.readOnly = !may['s3:PutBucketPolicy'];
  if (!may['s3:PutBucketPolicy']) return box;
  const templates = bucketTemplates(bucket, session.info.account);
  const pick = h('select', { id: 'policy-template' }, h('option', { value: '' }, 'Start from an example…'),
    Object.keys(templates).map(k => h('option', { value: k }, k)));
  pick.addEventListener('change', () => {
    if (pick.value) { ed.textarea.value = templates[pick.value]; ed.textarea.dispatchEvent(new Event('input')); ed.clear(); }
  });
  const save = h('button', {
    type: 'button', class: 'primary', id: 'policy-save', onclick: async () => {
      ed.clear();
      const body = ed.textarea.value;
      const bad = checkSyntax(body);
      if (bad) return ed.mark(bad.line, bad.message);
      try {
        await s3('PUT', bucket, '', { policy: '' }, { body, headers: { 'Content-Type': 'application/json' } });
        say('Bucket policy saved.');
      } catch (e) {
        ed.mark(serverErrorLine(body, e.message), errorText(e));
      }
    },
  }, 'Save policy');
  const del = h('button', {
    type: 'button', class: 'danger', id: 'policy-delete', onclick: () => guard(async () => {
      if (!await confirmDialog('Delete the bucket policy?', h('p', {}, 'Everything it allows stops being allowed.'), 'Delete', true)) return;
      await s3('DELETE', bucket, '', { policy: '' });
      ed.textarea.value = '';
      ed.textarea.dispatchEvent(new Event('input'));
      say('Bucket policy deleted.');
    }),
  }, 'Delete policy');
  box.append(h('div', { class: 'toolbar' }, field('Examples', pick), save, del));
  return box;
}

// xmlDocBox edits one XML settings document (CORS, lifecycle,
// encryption); a server without the feature says so.
async function xmlDocBox(bucket, id, title, sub, example, mayPut) {
  let text;
  try {
    text = await getText(bucket, sub);
  } catch (e) {
    return section(id, title, h('p', { class: 'muted', id: id + '-unavailable' },
      e.code === 'NotImplemented' ? 'Not available on this server (NotImplemented).' : errorText(e)));
  }
  const ed = editor(title + ' (XML)', text, id + '-text');
  const box = section(id, title, ed.el);
  ed.textarea.readOnly = !mayPut;
  if (!mayPut) return box;
  const save = h('button', {
    type: 'button', class: 'primary', id: id + '-save', onclick: async () => {
      ed.clear();
      const body = ed.textarea.value;
      const parsed = new DOMParser().parseFromString(body, 'application/xml');
      const perr = parsed.getElementsByTagName('parsererror')[0];
      if (perr) {
        const m = /line (\d+)/i.exec(perr.textContent);
        return ed.mark(m ? Number(m[1]) : 0, perr.textContent.split('\n')[0]);
      }
      try {
        const sum = await sha256Base64(body);
        const headers = { 'Content-Type': 'application/xml' };
        if (sum) headers['x-amz-checksum-sha256'] = sum;
        await s3('PUT', bucket, '', { [sub]: '' }, { body, headers });
        say(title + ' saved.');
      } catch (e) {
        ed.mark(0, errorText(e));
      }
    },
  }, 'Save');
  const del = h('button', {
    type: 'button', class: 'danger', id: id + '-delete', onclick: () => guard(async () => {
      await s3('DELETE', bucket, '', { [sub]: '' });
      ed.textarea.value = '';
      ed.textarea.dispatchEvent(new Event('input'));
      say(title + ' removed.');
    }),
  }, 'Remove');
  const ex = h('button', { type: 'button', onclick: () => { ed.textarea.value = example; ed.textarea.dispatchEvent(new Event('input')); } }, 'Insert an example');
  box.append(h('div', { class: 'toolbar' }, save, del, ex));
  return box;
}

const corsExample = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>https://app.example.com</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

const lifecycleExample = `<LifecycleConfiguration>
  <Rule>
    <ID>expire-logs</ID>
    <Filter><Prefix>logs/</Prefix></Filter>
    <Status>Enabled</Status>
    <Expiration><Days>30</Days></Expiration>
    <NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays></NoncurrentVersionExpiration>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>
  </Rule>
</LifecycleConfiguration>`;

const encryptionExample = `<ServerSideEncryptionConfiguration>
  <Rule>
    <ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>
  </Rule>
</ServerSideEncryptionConfiguration>`;

export async function settingsView(bucket) {
  const may = await can(arn.bucket(bucket), ['s3:PutBucketVersioning', 's3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:PutBucketCORS',
    's3:GetBucketCORS', 's3:PutLifecycleConfiguration', 's3:GetLifecycleConfiguration', 's3:PutEncryptionConfiguration',
    's3:GetEncryptionConfiguration', 's3:DeleteBucket', 's3:GetBucketVersioning']);
  // Admin actions are granted on the account ("*"), not on the bucket.
  const mayAdmin = await can('*', ['admin:Dedup', 'admin:DedupStatus']);
  const parts = [h('nav', { class: 'crumbs', 'aria-label': 'Bucket' }, h('a', { href: '#/' }, 'Buckets'), ' / ', h('a', { href: browseHref(bucket, '') }, bucket))];
  if (may['s3:GetBucketVersioning']) parts.push(await versioning(bucket, may).catch(e => section('versioning', 'Versioning', h('p', { class: 'error' }, errorText(e)))));
  if (mayAdmin['admin:DedupStatus']) parts.push(await dedupBox(bucket, mayAdmin['admin:Dedup']).catch(e => section('dedup', 'Deduplication', h('p', { class: 'error' }, errorText(e)))));
  if (may['s3:GetBucketPolicy']) parts.push(await policyBox(bucket, may).catch(e => section('policy', 'Bucket policy', h('p', { class: 'error' }, errorText(e)))));
  if (may['s3:GetEncryptionConfiguration']) parts.push(await xmlDocBox(bucket, 'encryption', 'Default encryption', 'encryption', encryptionExample, may['s3:PutEncryptionConfiguration']));
  if (may['s3:GetBucketCORS']) parts.push(await xmlDocBox(bucket, 'cors', 'CORS', 'cors', corsExample, may['s3:PutBucketCORS']));
  if (may['s3:GetLifecycleConfiguration']) parts.push(await xmlDocBox(bucket, 'lifecycle', 'Lifecycle', 'lifecycle', lifecycleExample, may['s3:PutLifecycleConfiguration']));
  if (may['s3:DeleteBucket']) {
    parts.push(section('delete-bucket', 'Delete bucket', h('p', {}, 'A bucket can be deleted once it holds no objects, versions or uploads.'),
      h('button', {
        type: 'button', class: 'danger', id: 'bucket-delete', onclick: () => guard(async () => {
          if (!await confirmDialog('Delete bucket ' + bucket + '?', h('p', {}, 'This cannot be undone.'), 'Delete bucket', true)) return;
          await s3('DELETE', bucket, '', {});
          say('Bucket ' + bucket + ' deleted.');
          location.hash = '#/';
        }),
      }, 'Delete bucket')));
  }
  view('Settings of ' + bucket, ...parts);
}
