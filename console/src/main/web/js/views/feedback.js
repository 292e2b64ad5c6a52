// Feedback: per adapter, how users rated its completions over time (a stacked bar chart by kind) and the newest
// examples, from the training service's dataset of record.
import { call, session } from '../api.js';
import { h, table, time, chart, every } from '../ui.js';
import { listAdapters } from './adapters.js';

// What each example kind says about the rating behind it.
const KINDS = [
  ['supervised', 'thumbs up', '#17632a'],
  ['preference', 'thumbs down, corrected', '#0b5cad'],
  ['negative', 'thumbs down', '#a3161b'],
  ['counted', 'neutral', '#6b7280'],
];

/** Buckets by minute, hour or day, whichever keeps the chart readable for the data's time span. */
function bucketOf(examples) {
  const times = examples.map((x) => Date.parse(x.created_at));
  const span = Math.max(...times) - Math.min(...times);
  const size = span <= 2 * 3600e3 ? 60e3 : span <= 2 * 86400e3 ? 3600e3 : 86400e3;
  return (t) => Math.floor(t / size) * size;
}

function promptOf(x) {
  if (x.prompt) return x.prompt;
  const users = (x.messages ?? []).filter((m) => m.role === 'user');
  return users.length ? users[users.length - 1].content : '';
}

export async function feedbackView(tenant, name) {
  const who = session.who();
  const adapters = await listAdapters();
  const options = [...adapters.map((m) => [m.tenant, m.name]), ...(who.operator ? [] : [[who.tenant, '_base']])];
  if (!tenant && options.length) [tenant, name] = options[0];
  const select = h('select#feedback-adapter', {
    onchange: () => { location.hash = `#/feedback/${select.value}`; },
  }, options.map(([t, n]) => h('option', { value: `${encodeURIComponent(t)}/${encodeURIComponent(n)}`, selected: t === tenant && n === name },
    `${who.operator ? `${t}/` : ''}${n === '_base' ? 'base model' : n}`)));
  const counts = h('dl.figures#feedback-counts');
  const newest = h('div#feedback-examples');
  const ratings = chart('Feedback by rating over time', {
    type: 'bar',
    data: { labels: [], datasets: KINDS.map(([, label, colour]) => ({ label, data: [], backgroundColor: colour })) },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'ratings' } } } },
  });
  const section = h('section', { 'aria-labelledby': 'feedback-title' },
    h('h2#feedback-title', {}, 'Feedback'),
    h('div.field', {}, h('label', { for: 'feedback-adapter' }, 'Adapter'), select),
    counts, h('h3', {}, 'Ratings over time'), ratings.box, h('h3', {}, 'Newest examples'), newest);
  if (!tenant) {
    return { element: h('section', {}, h('h2', {}, 'Feedback'), h('p', {}, 'No adapters yet.')) };
  }
  const stop = every(3000, async () => {
    const body = await call('training', `tenants/${encodeURIComponent(tenant)}/adapters/${encodeURIComponent(name)}/examples`);
    const c = body.counts;
    counts.replaceChildren(...[['Total', c.total, 'feedback-total'], ['Thumbs up', c.supervised ?? 0], ['Corrected', c.preference ?? 0],
      ['Thumbs down', c.negative ?? 0], ['Neutral', c.counted ?? 0], ['Held out', c.held_out], ['New since training', c.new_since_training]]
      .map(([label, value, id]) => h('div.figure', {}, h('dt', {}, label), h('dd', id ? { id } : {}, String(value)))));
    const examples = body.data;
    if (examples.length) {
      const bucket = bucketOf(examples);
      const keys = [...new Set(examples.map((x) => bucket(Date.parse(x.created_at))))].sort((a, b) => a - b);
      ratings.instance.data.labels = keys.map((k) => new Date(k).toLocaleString());
      ratings.instance.data.datasets.forEach((set, i) => {
        set.data = keys.map((k) => examples.filter((x) => x.kind === KINDS[i][0] && bucket(Date.parse(x.created_at)) === k).length);
      });
      ratings.instance.update();
    }
    const latest = [...examples].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)).slice(0, 20);
    newest.replaceChildren(latest.length ? table(['When', 'Rating', 'Prompt', 'Completion', 'Correction'],
      latest.map((x) => [time(x.created_at), KINDS.find(([k]) => k === x.kind)?.[1] ?? x.kind, promptOf(x),
        x.kind === 'preference' || x.kind === 'negative' ? x.rejected ?? '' : x.chosen ?? '',
        x.kind === 'preference' ? x.chosen : '']), { id: 'feedback-table' }) : h('p', {}, 'No feedback yet.'));
  });
  return { element: section, stop: () => { stop(); ratings.instance.destroy(); } };
}
