// Adapters: the caller's adapters (every tenant's for an operator) and, per adapter, its version timeline with
// promote and rollback.
import { call, session } from '../api.js';
import { h, table, badge, time, bytes, number, confirmAction, status, showError } from '../ui.js';

export async function listAdapters() {
  const who = session.who();
  const body = await call('registry', who.operator ? 'adapters' : `tenants/${encodeURIComponent(who.tenant)}/adapters`);
  return body.data;
}

function activeOf(m) {
  return m.versions.find((v) => v.version === m.active_version);
}

export async function adaptersView() {
  const who = session.who();
  const adapters = await listAdapters();
  const rows = adapters.map((m) => {
    const active = activeOf(m);
    const link = h('a', { href: `#/adapters/${encodeURIComponent(m.tenant)}/${encodeURIComponent(m.name)}` }, m.name);
    return [...(who.operator ? [m.tenant] : []), link, active ? `v${active.version}` : 'none', active?.type ?? '', active?.rank ?? '',
      bytes(active?.size_bytes), time(m.updated_at)];
  });
  const headers = [...(who.operator ? ['Tenant'] : []), 'Adapter', 'Active version', 'Type', 'Rank', 'Size', 'Last change'];
  return {
    element: h('section', { 'aria-labelledby': 'adapters-title' },
      h('h2#adapters-title', {}, 'Adapters'),
      adapters.length ? table(headers, rows, { id: 'adapters-table' }) : h('p', {}, 'No adapters yet.')),
  };
}

/** What happened to a version, as far as the registry's manifest says. */
function verdict(v, active) {
  if (v.status === 'unusable') return ['unusable', 'unusable'];
  if (v.version === active) return ['active', 'active'];
  if (v.gate && !v.gate.passed) return ['rejected by the gate', 'rejected'];
  if (v.version > active) return ['rolled back / not promoted', 'rolled-back'];
  return ['superseded', 'superseded'];
}

function versionItem(tenant, name, m, v, refresh) {
  const [label, kind] = verdict(v, m.active_version);
  const produced = v.source === 'job'
    ? h('span', {}, 'fine-tuned by job ', h('a', { href: `#/jobs/${encodeURIComponent(v.job_id)}` }, v.job_id))
    : 'uploaded';
  const metrics = Object.entries(v.metrics ?? {}).sort().map(([k, x]) => `${k} ${number(x)}`).join(' · ');
  let action = null;
  if (v.version !== m.active_version && v.status !== 'unusable') {
    const rollback = v.version < m.active_version;
    const text = rollback ? `Roll back to v${v.version}` : `Promote v${v.version}`;
    action = h('button', {
      type: 'button', class: rollback ? 'danger' : 'primary', 'data-version': v.version,
      onclick: async () => {
        const ok = await confirmAction(`${rollback ? 'Roll back' : 'Promote'} ${tenant}/${name} to version ${v.version}? `
          + 'New requests use it within seconds; running ones finish on the current version.', text);
        if (!ok) return;
        try {
          await call('registry', `tenants/${encodeURIComponent(tenant)}/adapters/${encodeURIComponent(name)}/promote`,
            { method: 'POST', json: { version: v.version } });
          status(`${name}: version ${v.version} is now active.`);
          await refresh();
        } catch (e) { showError(e); }
      },
    }, text);
  }
  return h('li', { id: `version-${v.version}`, 'data-state': kind },
    h('h3', {}, `v${v.version}`, v.parent_version ? ` ← from v${v.parent_version}` : '', ' ', badge(label, kind)),
    h('div', {}, produced, ` · ${v.type}, rank ${v.rank}, ${bytes(v.size_bytes)} · ${time(v.created_at)}`),
    v.gate ? h('div.metrics', {}, `gate: ${v.gate.passed ? 'passed' : 'failed'}${v.gate.reason ? ` (${v.gate.reason})` : ''}`) : null,
    metrics ? h('div.metrics', {}, metrics) : null,
    action);
}

export async function adapterView(tenant, name) {
  const section = h('section', { 'aria-labelledby': 'adapter-title' });
  const refresh = async () => {
    const m = await call('registry', `tenants/${encodeURIComponent(tenant)}/adapters/${encodeURIComponent(name)}`);
    const versions = [...m.versions].sort((a, b) => b.version - a.version); // newest on top
    section.replaceChildren(
      h('p', {}, h('a', { href: '#/adapters' }, '← all adapters')),
      h('h2#adapter-title', {}, `${m.tenant}/${m.name}`),
      h('p#active-version', {}, `Active version: ${m.active_version ? `v${m.active_version}` : 'none'} · last change ${time(m.updated_at)} · `,
        h('a', { href: `#/feedback/${encodeURIComponent(m.tenant)}/${encodeURIComponent(m.name)}` }, 'feedback')),
      h('h3', {}, 'Versions'),
      h('ol.timeline#timeline', { reversed: true }, versions.map((v) => versionItem(tenant, name, m, v, refresh))));
  };
  await refresh();
  return { element: section };
}
