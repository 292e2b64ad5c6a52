// Serving: the caller's live figures from serving's GET /v1/usage (a tenant sees its own; an operator every tenant's).
import { call, session } from '../api.js';
import { h, number, chart, every } from '../ui.js';

function figures(tenant, u) {
  const ttft = u.time_to_first_token_ms;
  return h('div', { 'data-tenant': tenant },
    h('h3', {}, `Tenant ${tenant}`),
    h('dl.figures', {}, [
      ['Requests completed', u.requests.completed, 'requests'],
      ['Requests cancelled', u.requests.cancelled],
      ['Prompt tokens', u.tokens.prompt],
      ['Generated tokens', u.tokens.completion],
      [`Tokens/s (last ${u.window_seconds} s)`, number(u.tokens_per_second, 2), 'tokens-per-second'],
      [`Time to first token p50 (last ${ttft.samples})`, ttft.p50 === null ? '–' : `${number(ttft.p50, 1)} ms`, 'ttft-p50'],
      ['Time to first token p90', ttft.p90 === null ? '–' : `${number(ttft.p90, 1)} ms`],
    ].map(([label, value, id]) => h('div.figure', {}, h('dt', {}, label), h('dd', id ? { class: id } : {}, String(value))))));
}

export async function servingView() {
  const who = session.who();
  const live = h('div#serving-figures');
  const trend = chart('Tokens per second and time to first token over the last minutes', {
    type: 'line',
    data: { labels: [], datasets: [
      { label: 'tokens/s', data: [], borderColor: '#0b5cad', backgroundColor: '#0b5cad', yAxisID: 'y' },
      { label: 'TTFT p50 (ms)', data: [], borderColor: '#a3161b', backgroundColor: '#a3161b', borderDash: [6, 3], yAxisID: 'ms' },
    ] },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'tokens/s' } },
      ms: { position: 'right', beginAtZero: true, title: { display: true, text: 'ms' }, grid: { drawOnChartArea: false } } } },
  });
  const section = h('section', { 'aria-labelledby': 'serving-title' },
    h('h2#serving-title', {}, 'Serving'),
    h('p.hint', {}, who.operator ? 'Every tenant with traffic since serving started.' : 'Your requests only, since serving started.'),
    live, trend.box);
  const stop = every(2000, async () => {
    const usage = await call('serving', 'usage');
    const tenants = Object.entries(usage.tenants);
    live.replaceChildren(...(tenants.length ? tenants.map(([t, u]) => figures(t, u)) : [h('p', {}, 'No traffic yet.')]));
    // The trend sums what the caller may see (one tenant, or all for an operator); 150 points = 5 minutes.
    const rate = tenants.reduce((sum, [, u]) => sum + u.tokens_per_second, 0);
    const ttfts = tenants.map(([, u]) => u.time_to_first_token_ms.p50).filter((x) => x !== null);
    const d = trend.instance.data;
    d.labels.push(new Date().toLocaleTimeString());
    d.datasets[0].data.push(rate);
    d.datasets[1].data.push(ttfts.length ? Math.max(...ttfts) : null);
    if (d.labels.length > 150) { d.labels.shift(); d.datasets.forEach((s) => s.data.shift()); }
    trend.instance.update();
  });
  return { element: section, stop: () => { stop(); trend.instance.destroy(); } };
}
