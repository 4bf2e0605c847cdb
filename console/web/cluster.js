// The cluster: nodes, drives, Raft, ring, repair progress, drains, and
// live graphs from the node's own Prometheus metrics.
import { admin, can } from './api.js';
import { h, table, bytes, when, say, guard, confirmDialog, errorText } from './ui.js';
import { view } from './app.js';

const POLL_MS = 2000;
const POINTS = 60;

// parseMetrics reads Prometheus text: name → summed value, for the
// families the graphs use.
export function parseMetrics(text) {
  const sums = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([^\s]+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (!isNaN(v)) sums[m[1]] = (sums[m[1]] || 0) + v;
  }
  return sums;
}

function graph(id, title, unit) {
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 ' + (POINTS - 1) + ' 100');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.append(line);
  const now = h('span', { class: 'muted', id: id + '-now' }, '…');
  const el = h('figure', { class: 'graph', id }, h('figcaption', {}, title + ': ', now), svg);
  const values = [];
  return {
    el,
    push(v) {
      values.push(v);
      if (values.length > POINTS) values.shift();
      const max = Math.max(...values, 1e-9);
      line.setAttribute('points', values.map((y, i) => (i + POINTS - values.length) + ',' + (100 - 95 * y / max)).join(' '));
      now.textContent = unit(v);
      svg.setAttribute('aria-label', title + ', now ' + unit(v) + ', peak ' + unit(max) + ' in the last ' + values.length * POLL_MS / 1000 + ' s');
    },
  };
}

function nodesTable(st, mayDrain, reload) {
  const rows = [];
  for (const n of st.nodes || []) {
    const drain = mayDrain && !n.draining ? h('button', {
      type: 'button', class: 'danger drain', 'aria-label': 'Drain node ' + n.id, onclick: () => guard(async () => {
        const ok = await confirmDialog('Drain node ' + n.id + '?', [h('p', {}, 'Every shard on ' + n.id + ' is moved to the other nodes; once none is left the node is removed from the cluster and can be turned off.'),
          h('p', {}, 'The cluster must have room and enough other nodes for its erasure coding.')], 'Drain ' + n.id, true);
        if (!ok) return;
        const d = await admin('POST', 'node/drain', { node: n.id });
        say('Draining ' + n.id + ': ' + d.referenced_shards + ' shards to move.');
        reload();
      }),
    }, 'Drain') : null;
    rows.push(h('tr', { dataset: { node: n.id } }, h('td', { class: 'name' }, n.id + (n.id === st.leader ? ' (leader)' : '')),
      h('td', { class: n.online ? 'ok' : 'error' }, n.online ? 'online' : 'offline' + (n.last_seen ? ' since ' + when(n.last_seen) : '')),
      h('td', { class: 'hide-narrow name' }, n.api_addr), h('td', {}, n.draining ? 'draining' : ''), h('td', {}, drain)));
    for (const d of n.drives || []) {
      const used = d.total_bytes ? (d.total_bytes - d.free_bytes) / d.total_bytes : 0;
      rows.push(h('tr', { class: 'drive', dataset: { drive: d.id } }, h('td', { class: 'name' }, '↳ ' + d.id),
        h('td', { class: d.online ? 'ok' : 'error' }, d.online ? 'online' : 'offline' + (d.error ? ': ' + d.error : '')),
        h('td', { class: 'hide-narrow' }, h('div', { class: 'bar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(used * 100)), 'aria-label': 'Used space of ' + d.id },
          h('span', { style: 'width:' + Math.round(used * 100) + '%' }))),
        h('td', {}, bytes(d.total_bytes - d.free_bytes) + ' of ' + bytes(d.total_bytes)), h('td', {}, 'weight ' + d.weight)));
    }
  }
  return table(['Node / drive', 'State', h('th', { scope: 'col', class: 'hide-narrow' }, 'Address / used'), '', ''], rows, { id: 'nodes', label: 'Nodes and drives' });
}

function redundancyTable(last) {
  const levels = Object.keys(last.redundancy || {}).map(Number).sort((a, b) => b - a);
  if (!levels.length) return h('p', { class: 'muted' }, 'No data streams checked yet.');
  return table(['Good shards', h('th', { scope: 'col', class: 'num' }, 'Streams'), h('th', { scope: 'col', class: 'num' }, 'Bytes')],
    levels.map(l => h('tr', { dataset: { level: String(l) } }, h('td', {}, String(l)), h('td', { class: 'num' }, String(last.redundancy[l])),
      h('td', { class: 'num' }, bytes((last.redundancy_bytes || {})[l] || 0)))), { id: 'redundancy', label: 'Streams by good shards' });
}

const pct = f => Math.round(100 * (f || 0)) + '%';

// backgroundBox shows the incremental repair: its queue, the placement
// sweep (after a ring change or a drive that came back empty) and the
// scrub's cycle.
function backgroundBox(hs) {
  const box = h('div', { id: 'repair-background' });
  box.append(h('p', { id: 'repair-queue' }, 'Repair queue: ' + (hs.dirty_all ? '' : 'at least ') + (hs.dirty || 0) + ' streams' +
    (hs.drives_offline && hs.drives_offline.length ? '; waiting for offline drives ' + hs.drives_offline.join(', ') : '') + '.'));
  const sw = hs.sweep;
  if (sw) {
    const what = sw.drives && sw.drives.length ? 'rebuilding emptied drives ' + sw.drives.join(', ') : 'placing streams on ring version ' + sw.ring;
    box.append(sw.active
      ? h('div', { id: 'repair-sweep' }, h('p', {}, 'Placement sweep ' + what + ' since ' + when(sw.started) + ': ' + pct(sw.progress) + ' (' + sw.visited + ' records visited, ' + sw.checked + ' checked).'),
        h('progress', { max: '100', value: String(Math.round(100 * (sw.progress || 0))), 'aria-label': 'Placement sweep progress' }))
      : h('p', { id: 'repair-sweep' }, 'Placement sweep: done up to ring version ' + sw.placed + '.'));
  }
  const sc = hs.scrub;
  if (sc) {
    box.append(h('div', { id: 'repair-scrub' }, h('p', { class: sc.behind ? 'warn' : '' }, 'Scrub cycle ' + sc.cycle + ' (every ' + sc.period + ', since ' + when(sc.started) + '): ' +
      pct(sc.progress) + ' verified, ' + pct(sc.due) + ' due by now' + (sc.behind ? ' — behind: raise --scrub-bandwidth' : '') + '.'),
      h('progress', { max: '100', value: String(Math.round(100 * (sc.progress || 0))), 'aria-label': 'Scrub progress' })));
  }
  return box;
}

function repairBox(hs, mayHeal, reload) {
  const box = h('div', { id: 'repair-state' });
  if (hs.running) {
    const pct = hs.expected ? Math.min(100, Math.round(100 * hs.scanned / hs.expected)) : 0;
    // A background pass's work is not known up front: no share, no ETA.
    const of = hs.expected ? ' of ' + hs.expected : '';
    const eta = hs.eta ? ', ETA ' + hs.eta : (hs.incremental ? '' : ', ETA unknown');
    box.append(h('p', { id: 'repair-running' }, (hs.incremental ? 'Background repair pass' : 'Full repair pass') + ' running since ' + when(hs.started) + ': ' +
      hs.scanned + of + ' streams, ' + (hs.streams_per_second || 0).toFixed(1) + ' streams/s' + eta + '.'),
      h('progress', { max: '100', value: String(pct), 'aria-label': 'Repair progress' }),
      h('p', {}, 'So far: healed ' + hs.healed + ', shards moved ' + hs.shards_moved + ', waiting ' + hs.waiting + ', failed ' + hs.failed + ', ' + bytes(hs.bytes_written) + ' written.'));
  } else {
    box.append(h('p', { id: 'repair-idle' }, 'No repair pass running (' + hs.passes + ' passes so far, queued ' + hs.queued + ').'));
  }
  box.append(backgroundBox(hs));
  if (hs.unreachable && hs.unreachable.length) {
    box.append(h('p', { class: 'warn' }, 'Unreachable: ' + hs.unreachable.map(u => u.node + ' for ' + Math.round(u.unreachable_seconds) + ' s (lost after ' + Math.round(u.lost_after_seconds) + ' s)').join(', ')));
  }
  if (hs.last) {
    const l = hs.last;
    box.append(h('h3', {}, 'Last pass'), h('p', { id: 'repair-last' }, when(l.started) + ', ' + l.duration + (l.deep ? ' (deep)' : '') + ': ' + l.streams + ' streams, ' + l.healthy + ' healthy, ' +
      l.healed + ' healed (' + l.shards_healed + ' shards rebuilt, ' + l.shards_moved + ' moved), ' + l.failed + ' failed, ' + l.waiting + ' waiting, ' + l.lost + ' lost.'),
      redundancyTable(l));
  }
  if (mayHeal) {
    const deep = h('input', { type: 'checkbox', id: 'heal-deep' });
    box.append(h('div', { class: 'toolbar' }, h('span', {}, deep, ' ', h('label', { for: 'heal-deep' }, 'Deep (read and verify every shard)')),
      h('button', {
        type: 'button', id: 'heal-now', onclick: ev => guard(async () => {
          ev.target.disabled = true;
          say('Repair pass started.');
          try {
            const rep = await admin('POST', 'heal', { deep: deep.checked ? 'true' : undefined });
            say('Repair pass done: ' + rep.healed + ' healed, ' + rep.failed + ' failed.');
          } finally {
            ev.target.disabled = false;
          }
          reload();
        }),
      }, 'Run a repair pass now')));
  }
  return box;
}

export async function clusterView() {
  const may = await can('*', ['admin:ServerInfo', 'admin:HealStatus', 'admin:DrainNode', 'admin:Heal', 'admin:Prometheus']);
  const summary = h('dl', { class: 'props', id: 'cluster-summary' });
  const nodes = h('div');
  const repair = h('div');
  const graphs = {
    req: graph('graph-requests', 'Requests', v => v.toFixed(1) + '/s'),
    rx: graph('graph-received', 'Bytes received', v => bytes(v) + '/s'),
    tx: graph('graph-sent', 'Bytes sent', v => bytes(v) + '/s'),
    lat: graph('graph-latency', 'Mean latency', v => (v * 1000).toFixed(1) + ' ms'),
  };
  const err = h('p', { class: 'error', role: 'alert' });
  view('Cluster', err,
    h('section', { class: 'card', 'aria-labelledby': 'summary-title' }, h('h2', { id: 'summary-title' }, 'This node'), summary),
    h('section', { class: 'card', 'aria-labelledby': 'nodes-title' }, h('h2', { id: 'nodes-title' }, 'Nodes and drives'), nodes),
    may['admin:HealStatus'] ? h('section', { class: 'card', 'aria-labelledby': 'repair-title', id: 'repair' }, h('h2', { id: 'repair-title' }, 'Repair'), repair) : null,
    may['admin:Prometheus'] ? h('section', { class: 'card', 'aria-labelledby': 'graphs-title' }, h('h2', { id: 'graphs-title' }, 'Live (this node)'),
      h('div', { class: 'graphs' }, Object.values(graphs).map(g => g.el))) : null);
  let prev = null, stopped = false, timer;
  const reload = async () => {
    try {
      const st = await admin('GET', 'cluster/status');
      summary.replaceChildren(...[['Node', st.node_id], ['Raft role', st.raft_state], ['Leader', st.leader + (st.leader_addr ? ' (' + st.leader_addr + ')' : '')],
        ['Term', st.term], ['Commit index', st.commit_index], ['Applied index', String(st.applied_index)], ['Ring version', String(st.ring_version)],
        ['Healthy', st.healthy ? 'yes' : 'no']].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
      nodes.replaceChildren(nodesTable(st, may['admin:DrainNode'], reload));
      if (may['admin:HealStatus']) repair.replaceChildren(repairBox(await admin('GET', 'heal/status'), may['admin:Heal'], reload));
      err.textContent = '';
    } catch (e) {
      err.textContent = errorText(e);
    }
  };
  const sample = async () => {
    if (!may['admin:Prometheus']) return;
    try {
      const m = parseMetrics(await admin('GET', 'metrics'));
      const t = performance.now() / 1000;
      if (prev) {
        const dt = t - prev.t;
        const d = k => Math.max(0, (m[k] || 0) - (prev.m[k] || 0));
        graphs.req.push(d('filesphere_s3_requests_total') / dt);
        graphs.rx.push(d('filesphere_s3_received_bytes_total') / dt);
        graphs.tx.push(d('filesphere_s3_sent_bytes_total') / dt);
        const n = d('filesphere_s3_request_duration_seconds_count');
        graphs.lat.push(n ? d('filesphere_s3_request_duration_seconds_sum') / n : 0);
      }
      prev = { m, t };
    } catch (e) {
      err.textContent = errorText(e);
    }
  };
  const tick = async () => {
    if (stopped) return;
    await Promise.all([reload(), sample()]);
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  };
  await tick();
  return () => { stopped = true; clearTimeout(timer); };
}

