// Users, groups, access keys and policies, through the IAM Query API; the
// OAuth2 server's clients, signing keys and external issuers through the
// admin API.
import { iam, admin, tag, all, children, can, session } from './api.js';
import { h, field, table, when, say, guard, confirmDialog, showOnce, copyButton, editor, errorText } from './ui.js';
import { view } from './app.js';
import { identityTemplates, checkSyntax, serverErrorLine } from './policy.js';

const tabs = [['users', 'Users'], ['groups', 'Groups'], ['policies', 'Policies'], ['oauth', 'OAuth clients'], ['issuers', 'External issuers'], ['keys', 'My access keys']];

function tabBar(current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Users and access' }, tabs.map(([id, label]) =>
    h('a', { href: '#/admin/' + id, 'aria-current': id === current ? 'page' : null, id: 'tab-' + id }, label)));
}

const members = (doc, name) => all(doc, name).map(el => el);

export async function adminView(tab, arg) {
  switch (tab) {
    case 'users': return arg ? userView(arg) : usersView();
    case 'groups': return arg ? groupView(arg) : groupsView();
    case 'policies': return arg ? policyView(arg) : policiesView();
    case 'oauth': return oauthView();
    case 'issuers': return issuersView();
    case 'keys': return keysView(null);
  }
  view('Not found', tabBar(''));
}

// createForm is a one-field form that runs create(value).
function createForm(id, label, button, create) {
  const input = h('input', { id: id + '-name', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const form = h('form', { class: 'toolbar', id }, field(label, input), h('button', { class: 'primary', type: 'submit' }, button));
  form.addEventListener('submit', ev => { ev.preventDefault(); guard(() => create(input.value.trim())); });
  return form;
}

async function usersView() {
  const may = await can('arn:aws:iam::' + session.info.account + ':user/*', ['iam:CreateUser']);
  const doc = await iam('ListUsers', { MaxItems: '1000' });
  const rows = members(doc, 'member').filter(m => tag(m, 'UserName')).map(u => {
    const n = tag(u, 'UserName');
    return h('tr', { dataset: { user: n } }, h('td', { class: 'name' }, h('a', { href: '#/admin/users/' + encodeURIComponent(n) }, n)),
      h('td', { class: 'hide-narrow' }, when(tag(u, 'CreateDate'))), h('td', { class: 'name hide-narrow' }, tag(u, 'Arn')));
  });
  view('Users', tabBar('users'),
    may['iam:CreateUser'] ? createForm('create-user', 'New user name', 'Create user', async n => {
      await iam('CreateUser', { UserName: n });
      say('User ' + n + ' created.');
      location.hash = '#/admin/users/' + encodeURIComponent(n);
    }) : null,
    table(['Name', h('th', { scope: 'col', class: 'hide-narrow' }, 'Created'), h('th', { scope: 'col', class: 'hide-narrow' }, 'ARN')],
      rows.length ? rows : [h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No users yet.'))], { id: 'users', label: 'Users' }));
}

async function localPolicies() {
  const doc = await iam('ListPolicies', { Scope: 'Local', MaxItems: '1000' });
  return members(doc, 'member').filter(m => tag(m, 'PolicyName')).map(p => ({ name: tag(p, 'PolicyName'), arn: tag(p, 'Arn') }));
}

// attachedBox lists an entity's managed policies, with attach and detach.
async function attachedBox(kind, name) {
  const param = kind === 'user' ? 'UserName' : 'GroupName';
  const K = kind === 'user' ? 'User' : 'Group';
  const [doc, choices] = await Promise.all([iam('ListAttached' + K + 'Policies', { [param]: name }), localPolicies().catch(() => [])]);
  const attached = members(doc, 'member').map(p => ({ name: tag(p, 'PolicyName'), arn: tag(p, 'PolicyArn') }));
  const list = h('ul', { id: kind + '-policies' }, attached.map(p => h('li', {}, h('a', { href: '#/admin/policies/' + encodeURIComponent(p.arn) }, p.name), ' ',
    h('button', { type: 'button', onclick: () => guard(async () => { await iam('Detach' + K + 'Policy', { [param]: name, PolicyArn: p.arn }); say('Detached ' + p.name + '.'); adminView(kind + 's', name); }) }, 'Detach'))));
  const open = choices.filter(c => !attached.some(a => a.arn === c.arn));
  const pick = h('select', { id: kind + '-attach-policy' }, open.map(c => h('option', { value: c.arn }, c.name)));
  const attach = h('button', {
    type: 'button', id: kind + '-attach', onclick: () => guard(async () => {
      if (!pick.value) return;
      await iam('Attach' + K + 'Policy', { [param]: name, PolicyArn: pick.value });
      say('Policy attached.');
      adminView(kind + 's', name);
    }),
  }, 'Attach policy');
  return h('section', { class: 'card', 'aria-labelledby': kind + '-pol-title' }, h('h2', { id: kind + '-pol-title' }, 'Attached policies'),
    attached.length ? list : h('p', { class: 'muted' }, 'None.'),
    open.length ? h('div', { class: 'toolbar' }, field('Policy', pick), attach)
      : h('p', { class: 'muted' }, choices.length ? 'Every policy is attached.' : 'Create a policy under Policies to attach it.'));
}

// keysView lists a user's access keys (the caller's own when user is
// null): create (the secret shown once), deactivate, delete.
async function keysBox(user) {
  const params = user ? { UserName: user } : {};
  const doc = await iam('ListAccessKeys', params);
  const rows = members(doc, 'member').filter(m => tag(m, 'AccessKeyId')).map(k => {
    const id = tag(k, 'AccessKeyId'), status = tag(k, 'Status');
    return h('tr', { dataset: { key: id } }, h('td', { class: 'name' }, id), h('td', {}, status), h('td', { class: 'hide-narrow' }, when(tag(k, 'CreateDate'))),
      h('td', {},
        h('button', { type: 'button', onclick: () => guard(async () => { await iam('UpdateAccessKey', Object.assign({ AccessKeyId: id, Status: status === 'Active' ? 'Inactive' : 'Active' }, params)); refresh(); }) },
          status === 'Active' ? 'Deactivate' : 'Activate'), ' ',
        h('button', {
          type: 'button', class: 'danger', onclick: () => guard(async () => {
            if (!await confirmDialog('Delete access key ' + id + '?', h('p', {}, 'Programs using it stop working.'), 'Delete', true)) return;
            await iam('DeleteAccessKey', Object.assign({ AccessKeyId: id }, params));
            refresh();
          }),
        }, 'Delete')));
  });
  const refresh = () => (user ? adminView('users', user) : adminView('keys'));
  const create = h('button', {
    type: 'button', class: 'primary', id: 'create-key', onclick: () => guard(async () => {
      const out = await iam('CreateAccessKey', params);
      const secret = h('input', { class: 'link secret', readonly: true, id: 'new-secret', 'aria-label': 'Secret access key' });
      secret.value = tag(out, 'SecretAccessKey');
      await showOnce('New access key', [h('p', {}, 'Access key ID: ', h('strong', { id: 'new-key-id' }, tag(out, 'AccessKeyId'))),
        h('p', {}, 'Secret access key — shown only now; store it safely:'), secret, ' ', copyButton(secret)]);
      secret.value = '';
      refresh();
    }),
  }, 'Create access key');
  return h('section', { class: 'card', 'aria-labelledby': 'keys-title' }, h('h2', { id: 'keys-title' }, 'Access keys'),
    table(['Access key ID', 'Status', h('th', { scope: 'col', class: 'hide-narrow' }, 'Created'), 'Actions'],
      rows.length ? rows : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No access keys.'))], { id: 'access-keys', label: 'Access keys' }), create);
}

async function keysView() {
  if (session.info.root) {
    view('My access keys', tabBar('keys'), h('p', { class: 'muted' }, 'The root key comes from the server\'s configuration (FILESPHERE_ROOT_USER); give people users with their own keys instead.'));
    return;
  }
  view('My access keys', tabBar('keys'), await keysBox(null));
}

async function userView(name) {
  const [doc, groups, inline] = await Promise.all([iam('GetUser', { UserName: name }), iam('ListGroupsForUser', { UserName: name }), iam('ListUserPolicies', { UserName: name })]);
  const allGroups = await iam('ListGroups', {}).then(d => members(d, 'member').map(g => tag(g, 'GroupName')).filter(Boolean)).catch(() => []);
  const mine = members(groups, 'member').map(g => tag(g, 'GroupName')).filter(Boolean);
  const pick = h('select', { id: 'user-add-group' }, allGroups.filter(g => !mine.includes(g)).map(g => h('option', { value: g }, g)));
  const groupsBox = h('section', { class: 'card', 'aria-labelledby': 'user-groups-title' }, h('h2', { id: 'user-groups-title' }, 'Groups'),
    mine.length ? h('ul', {}, mine.map(g => h('li', {}, h('a', { href: '#/admin/groups/' + encodeURIComponent(g) }, g), ' ',
      h('button', { type: 'button', onclick: () => guard(async () => { await iam('RemoveUserFromGroup', { UserName: name, GroupName: g }); userView(name); }) }, 'Remove')))) : h('p', { class: 'muted' }, 'In no group.'),
    pick.children.length ? h('div', { class: 'toolbar' }, field('Group', pick), h('button', {
      type: 'button', id: 'user-add-to-group', onclick: () => guard(async () => { await iam('AddUserToGroup', { UserName: name, GroupName: pick.value }); say('Added to ' + pick.value + '.'); userView(name); }),
    }, 'Add to group')) : null);
  const inl = members(inline, 'member').map(m => m.textContent);
  const del = h('button', {
    type: 'button', class: 'danger', id: 'delete-user', onclick: () => guard(async () => {
      if (!await confirmDialog('Delete user ' + name + '?', h('p', {}, 'Remove its keys, groups and policies first.'), 'Delete', true)) return;
      await iam('DeleteUser', { UserName: name });
      say('User ' + name + ' deleted.');
      location.hash = '#/admin/users';
    }),
  }, 'Delete user');
  view('User ' + name, tabBar('users'),
    h('section', { class: 'card' }, h('dl', { class: 'props' }, h('dt', {}, 'ARN'), h('dd', {}, tag(doc, 'Arn')), h('dt', {}, 'Created'), h('dd', {}, when(tag(doc, 'CreateDate')))),
      inl.length ? h('p', {}, 'Inline policies: ' + inl.join(', ')) : null, del),
    await passwordBox(name), await attachedBox('user', name), groupsBox, await keysBox(name));
}

// passwordBox sets or removes a user's password (the IAM login profile):
// what "Log in with FileSphere" and filesphere login ask for.
async function passwordBox(name) {
  let has = true;
  try {
    await iam('GetLoginProfile', { UserName: name });
  } catch (e) {
    if (e.code !== 'NoSuchEntity') throw e;
    has = false;
  }
  const pw = h('input', { id: 'user-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
  const form = h('form', { class: 'toolbar', id: 'set-password' }, field(has ? 'New password' : 'Password', pw),
    h('button', { class: 'primary', type: 'submit' }, has ? 'Change password' : 'Set password'));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    guard(async () => {
      await iam(has ? 'UpdateLoginProfile' : 'CreateLoginProfile', { UserName: name, Password: pw.value });
      pw.value = '';
      say('Password ' + (has ? 'changed' : 'set') + ' for ' + name + '.');
      userView(name);
    });
  });
  const remove = has ? h('button', {
    type: 'button', class: 'danger', id: 'remove-password', onclick: () => guard(async () => {
      if (!await confirmDialog('Remove the password of ' + name + '?', h('p', {}, 'The user can no longer log in with FileSphere; access keys keep working.'), 'Remove', true)) return;
      await iam('DeleteLoginProfile', { UserName: name });
      say('Password removed.');
      userView(name);
    }),
  }, 'Remove password') : null;
  return h('section', { class: 'card', 'aria-labelledby': 'user-password-title' }, h('h2', { id: 'user-password-title' }, 'Password'),
    h('p', { class: 'muted', id: 'user-password-state' }, has ? 'The user can log in with FileSphere (this console, filesphere login).' : 'No password: the user logs in with access keys only.'),
    form, remove);
}

async function groupsView() {
  const doc = await iam('ListGroups', {});
  const rows = members(doc, 'member').filter(m => tag(m, 'GroupName')).map(g => {
    const n = tag(g, 'GroupName');
    return h('tr', {}, h('td', { class: 'name' }, h('a', { href: '#/admin/groups/' + encodeURIComponent(n) }, n)), h('td', { class: 'hide-narrow' }, when(tag(g, 'CreateDate'))));
  });
  view('Groups', tabBar('groups'), createForm('create-group', 'New group name', 'Create group', async n => {
    await iam('CreateGroup', { GroupName: n });
    say('Group ' + n + ' created.');
    location.hash = '#/admin/groups/' + encodeURIComponent(n);
  }), table(['Name', h('th', { scope: 'col', class: 'hide-narrow' }, 'Created')], rows.length ? rows : [h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'No groups yet.'))], { id: 'groups', label: 'Groups' }));
}

async function groupView(name) {
  const doc = await iam('GetGroup', { GroupName: name });
  const users = all(doc, 'Users').flatMap(u => children(u, 'member')).map(m => tag(m, 'UserName'));
  view('Group ' + name, tabBar('groups'),
    h('section', { class: 'card', 'aria-labelledby': 'group-members-title' }, h('h2', { id: 'group-members-title' }, 'Members'),
      users.length ? h('ul', {}, users.map(u => h('li', {}, h('a', { href: '#/admin/users/' + encodeURIComponent(u) }, u)))) : h('p', { class: 'muted' }, 'No members; add users from their page.'),
      h('button', {
        type: 'button', class: 'danger', onclick: () => guard(async () => {
          if (!await confirmDialog('Delete group ' + name + '?', h('p', {}, 'Remove its members and policies first.'), 'Delete', true)) return;
          await iam('DeleteGroup', { GroupName: name });
          location.hash = '#/admin/groups';
        }),
      }, 'Delete group')),
    await attachedBox('group', name));
}

async function policiesView() {
  const list = await localPolicies();
  const templates = identityTemplates(session.info.bucketHint || 'BUCKET');
  const name = h('input', { id: 'policy-name', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const ed = editor('Policy document (JSON)', templates['Read-only access to a bucket'], 'policy-doc');
  const pick = h('select', { id: 'policy-example' }, Object.keys(templates).map(k => h('option', { value: k }, k)));
  pick.addEventListener('change', () => { ed.textarea.value = templates[pick.value]; ed.textarea.dispatchEvent(new Event('input')); ed.clear(); });
  const form = h('form', { class: 'card', id: 'create-policy', 'aria-labelledby': 'new-policy-title' }, h('h2', { id: 'new-policy-title' }, 'New policy'),
    field('Name', name), field('Start from an AWS example', pick, 'Replace BUCKET with your bucket.'), ed.el, h('button', { class: 'primary', type: 'submit' }, 'Create policy'));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    ed.clear();
    const text = ed.textarea.value;
    const bad = checkSyntax(text);
    if (bad) return ed.mark(bad.line, bad.message);
    try {
      await iam('CreatePolicy', { PolicyName: name.value.trim(), PolicyDocument: text });
      say('Policy ' + name.value + ' created.');
      policiesView();
    } catch (e) {
      ed.mark(serverErrorLine(text, e.message), errorText(e));
    }
  });
  view('Policies', tabBar('policies'),
    table(['Name', 'ARN'], list.length ? list.map(p => h('tr', {}, h('td', { class: 'name' }, h('a', { href: '#/admin/policies/' + encodeURIComponent(p.arn) }, p.name)), h('td', { class: 'name' }, p.arn)))
      : [h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'No policies yet.'))], { id: 'policies', label: 'Policies' }), form);
}

async function policyView(policyARN) {
  const doc = await iam('GetPolicy', { PolicyArn: policyARN });
  const ver = tag(doc, 'DefaultVersionId');
  const v = await iam('GetPolicyVersion', { PolicyArn: policyARN, VersionId: ver });
  let text = tag(v, 'Document');
  try { text = decodeURIComponent(text); } catch (_) { /* not URL-encoded */ }
  try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* shown as stored */ }
  const ed = editor('Policy document (default version ' + ver + ')', text, 'policy-view');
  const save = h('button', {
    type: 'button', class: 'primary', onclick: async () => {
      ed.clear();
      const body = ed.textarea.value;
      const bad = checkSyntax(body);
      if (bad) return ed.mark(bad.line, bad.message);
      try {
        await iam('CreatePolicyVersion', { PolicyArn: policyARN, PolicyDocument: body, SetAsDefault: 'true' });
        say('New default version saved.');
        policyView(policyARN);
      } catch (e) {
        ed.mark(serverErrorLine(body, e.message), errorText(e));
      }
    },
  }, 'Save as new default version');
  view('Policy ' + tag(doc, 'PolicyName'), tabBar('policies'), h('section', { class: 'card' }, ed.el, h('div', { class: 'toolbar' }, save,
    h('button', {
      type: 'button', class: 'danger', onclick: () => guard(async () => {
        if (!await confirmDialog('Delete this policy?', h('p', {}, 'Detach it everywhere first.'), 'Delete', true)) return;
        await iam('DeletePolicy', { PolicyArn: policyARN });
        location.hash = '#/admin/policies';
      }),
    }, 'Delete policy'))));
}


// oauthView lists the OAuth2 server's clients (register, remove; a
// confidential client's secret is shown once) and its signing keys.
async function oauthView() {
  const may = await can('*', ['admin:OAuthClientAdd', 'admin:OAuthClientRemove', 'admin:OAuthKeyList', 'admin:OAuthKeyRotate']);
  const clients = await admin('GET', 'oauth/clients');
  const rows = clients.map(c => h('tr', { dataset: { client: c.name } },
    h('td', { class: 'name' }, c.name), h('td', { class: 'name' }, c.client_id), h('td', {}, c.grant + (c.public ? ' (public)' : '')),
    h('td', { class: 'name hide-narrow' }, (c.redirect_uris || []).map(u => h('div', {}, u)), c.user ? 'acts as ' + c.user : null),
    h('td', { class: 'hide-narrow' }, when(c.created)),
    h('td', {}, may['admin:OAuthClientRemove'] ? h('button', {
      type: 'button', class: 'danger', 'aria-label': 'Remove client ' + c.name, onclick: () => guard(async () => {
        const note = c.name === 'filesphere-console' ? 'The console registers it again at its next "Log in with FileSphere" (turn that off with --console-oauth=false).' : 'Its tokens stop working at once.';
        if (!await confirmDialog('Remove OAuth client ' + c.name + '?', h('p', {}, note), 'Remove', true)) return;
        await admin('DELETE', 'oauth/clients', { name: c.name });
        say('Client ' + c.name + ' removed.');
        oauthView();
      }),
    }, 'Remove') : null)));
  const content = [table(['Name', 'Client ID', 'Grant', h('th', { scope: 'col', class: 'hide-narrow' }, 'Redirect URIs or user'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Created'), 'Actions'],
    rows.length ? rows : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No clients yet.'))], { id: 'oauth-clients', label: 'OAuth clients' })];
  if (may['admin:OAuthClientAdd']) content.push(clientForm());
  if (may['admin:OAuthKeyList']) content.push(await signingKeysBox(may['admin:OAuthKeyRotate']));
  view('OAuth clients', tabBar('oauth'), ...content);
}

function clientForm() {
  const name = h('input', { id: 'client-name', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const grant = h('select', { id: 'client-grant' }, [['authorization_code', 'Authorization code (browser login, PKCE)'], ['device_code', 'Device code (no browser)'], ['client_credentials', 'Client credentials (a service acting as a user)']]
    .map(([v, l]) => h('option', { value: v }, l)));
  const uris = h('textarea', { id: 'client-redirect-uris', rows: 2, spellcheck: 'false', autocapitalize: 'off' });
  const pub = h('input', { id: 'client-public', type: 'checkbox', checked: true });
  const user = h('input', { id: 'client-user', autocapitalize: 'off', spellcheck: 'false' });
  const uriField = field('Redirect URIs (one per line; https, or http on a loopback address)', uris);
  const pubField = h('div', { class: 'field' }, h('label', { for: pub.id }, pub, ' Public (no secret; for apps on people\'s machines)'));
  const userField = field('IAM user it acts as', user);
  const shape = () => {
    uriField.hidden = grant.value !== 'authorization_code';
    pubField.hidden = grant.value === 'client_credentials';
    userField.hidden = grant.value !== 'client_credentials';
  };
  grant.addEventListener('change', shape);
  shape();
  const form = h('form', { class: 'card', id: 'create-client', 'aria-labelledby': 'new-client-title' }, h('h2', { id: 'new-client-title' }, 'Register a client'),
    field('Name', name), field('Grant', grant), uriField, pubField, userField, h('button', { class: 'primary', type: 'submit' }, 'Register client'));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    guard(async () => {
      const g = grant.value;
      const params = { name: name.value.trim(), grant: g };
      if (g === 'authorization_code') params.redirect_uri = uris.value.split('\n').map(s => s.trim()).filter(Boolean);
      if (g !== 'client_credentials') params.public = pub.checked ? 'true' : 'false';
      if (g === 'client_credentials') params.user = user.value.trim();
      const out = await admin('POST', 'oauth/clients', params);
      if (out.client_secret) {
        const secret = h('input', { class: 'link secret', readonly: true, id: 'new-client-secret', 'aria-label': 'Client secret' });
        secret.value = out.client_secret;
        await showOnce('Client ' + out.name + ' registered', [h('p', {}, 'Client ID: ', h('strong', { id: 'new-client-id' }, out.client_id)),
          h('p', {}, 'Client secret — shown only now; store it safely:'), secret, ' ', copyButton(secret)]);
        secret.value = '';
      } else {
        say('Client ' + out.name + ' registered: ' + out.client_id + '.');
      }
      oauthView();
    });
  });
  return form;
}

async function signingKeysBox(mayRotate) {
  const keys = await admin('GET', 'oauth/keys');
  const rotate = mayRotate ? h('button', {
    type: 'button', id: 'rotate-signing-key', onclick: () => guard(async () => {
      if (!await confirmDialog('Rotate the signing key?', h('p', {}, 'New tokens are signed with a new key; the old one stays published until its tokens expire.'), 'Rotate')) return;
      await admin('POST', 'oauth/keys/rotate');
      say('Signing key rotated.');
      oauthView();
    }),
  }, 'Rotate signing key') : null;
  return h('section', { class: 'card', 'aria-labelledby': 'signing-keys-title' }, h('h2', { id: 'signing-keys-title' }, 'Signing keys'),
    table(['Key ID', 'Algorithm', 'Created', 'State'], keys.map(k => h('tr', {}, h('td', { class: 'name' }, k.kid), h('td', {}, k.alg), h('td', {}, when(k.created)),
      h('td', {}, k.signing ? 'signing' : (k.retired ? 'retired ' + when(k.retired) : 'published')))), { id: 'signing-keys', label: 'Signing keys' }), rotate);
}

// issuersView lists the external OpenID Connect issuers whose tokens STS
// accepts (register with audiences and role mappings, remove).
async function issuersView() {
  const may = await can('*', ['admin:OAuthIssuerList', 'admin:OAuthIssuerAdd', 'admin:OAuthIssuerRemove']);
  if (!may['admin:OAuthIssuerList']) {
    view('External issuers', tabBar('issuers'), h('p', { class: 'muted', id: 'issuers-denied' }, 'You may not list external issuers (admin:OAuthIssuerList).'));
    return;
  }
  let issuers;
  try {
    issuers = await admin('GET', 'oauth/issuers');
  } catch (e) {
    if (e.code !== 'NotImplemented') throw e;
    view('External issuers', tabBar('issuers'), h('p', { class: 'muted', id: 'issuers-unavailable' }, errorText(e)));
    return;
  }
  const roleText = r => r.claim ? r.claim + ' = ' + r.value + ' → ' + r.role_arn : r.role_arn + ' (any token)';
  const rows = issuers.map(i => h('tr', { dataset: { issuer: i.url } },
    h('td', { class: 'name' }, i.url), h('td', { class: 'name' }, (i.audiences || []).map(a => h('div', {}, a))),
    h('td', { class: 'name hide-narrow' }, (i.roles || []).length ? i.roles.map(r => h('div', {}, roleText(r))) : h('span', { class: 'muted' }, 'any role whose trust policy names it')),
    h('td', { class: 'hide-narrow' }, when(i.created)),
    h('td', {}, may['admin:OAuthIssuerRemove'] ? h('button', {
      type: 'button', class: 'danger', 'aria-label': 'Remove issuer ' + i.url, onclick: () => guard(async () => {
        if (!await confirmDialog('Remove issuer ' + i.url + '?', h('p', {}, 'STS refuses its tokens from then on; credentials already issued last until they expire.'), 'Remove', true)) return;
        await admin('DELETE', 'oauth/issuers', { url: i.url });
        say('Issuer ' + i.url + ' removed.');
        issuersView();
      }),
    }, 'Remove') : null)));
  const content = [h('p', { class: 'muted' }, 'Tokens of these OpenID Connect providers may be exchanged for credentials with STS AssumeRoleWithWebIdentity, for a role whose trust policy names the issuer as Federated principal.'),
    table(['Issuer', 'Audiences', h('th', { scope: 'col', class: 'hide-narrow' }, 'Roles'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Registered'), 'Actions'],
      rows.length ? rows : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No external issuers.'))], { id: 'oauth-issuers', label: 'External issuers' })];
  if (may['admin:OAuthIssuerAdd']) content.push(issuerForm());
  view('External issuers', tabBar('issuers'), ...content);
}

const lines = text => text.split('\n').map(s => s.trim()).filter(Boolean);

function issuerForm() {
  const url = h('input', { id: 'issuer-url', type: 'url', required: true, autocapitalize: 'off', spellcheck: 'false', placeholder: 'https://accounts.example.com' });
  const audiences = h('textarea', { id: 'issuer-audiences', rows: 2, required: true, spellcheck: 'false', autocapitalize: 'off' });
  const roles = h('textarea', { id: 'issuer-roles', rows: 2, spellcheck: 'false', autocapitalize: 'off' });
  const claimRoles = h('textarea', { id: 'issuer-claim-roles', rows: 2, spellcheck: 'false', autocapitalize: 'off' });
  const err = h('p', { class: 'error', id: 'issuer-error', role: 'alert' });
  const form = h('form', { class: 'card', id: 'add-issuer', 'aria-labelledby': 'new-issuer-title' }, h('h2', { id: 'new-issuer-title' }, 'Register an issuer'),
    field('Issuer URL (https, or http on a loopback address; its discovery document and keys are read now)', url),
    field('Audiences (one per line: the client ids its tokens are issued to)', audiences),
    field('Roles any of its tokens may assume (role ARNs, one per line; optional)', roles),
    field('Roles by claim (CLAIM=VALUE=ROLE_ARN, one per line; optional)', claimRoles),
    err, h('button', { class: 'primary', type: 'submit' }, 'Register issuer'));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    err.textContent = '';
    const mapped = lines(claimRoles.value);
    const bad = mapped.find(m => m.split('=').length < 3 || /^=|^[^=]*==/.test(m));
    if (bad) {
      err.textContent = '"' + bad + '" is not CLAIM=VALUE=ROLE_ARN.';
      claimRoles.focus();
      return;
    }
    try {
      const out = await admin('POST', 'oauth/issuers', { url: url.value.trim(), audience: lines(audiences.value), role: lines(roles.value), claim_role: mapped });
      say('Issuer ' + out.url + ' registered.');
      issuersView();
    } catch (e) {
      err.textContent = errorText(e);
    }
  });
  return form;
}
