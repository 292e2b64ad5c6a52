// Fine-tuning jobs: the list (with a form to upload a file and start a job) and a job's page with its live loss
// curve, events, checkpoints and a cancel button. OpenAI's shapes: fine_tuning.job, .job.event (metrics events carry
// data {step, train_loss, valid_loss}), .job.checkpoint.
import { call, session } from '../api.js';
import { h, table, badge, time, number, chart, every, confirmAction, status, showError } from '../ui.js';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

function jobLink(j) {
  return h('a', { href: `#/jobs/${encodeURIComponent(j.id)}` }, j.id);
}

function startForm(models) {
  const fileInput = h('input#upload-file', { type: 'file', accept: '.jsonl,application/jsonl,application/json', required: true });
  const files = h('select#job-file', { required: true });
  const validation = h('select#job-validation-file');
  const refreshFiles = async () => {
    const list = await call('training', 'files?purpose=fine-tune');
    const options = () => list.data.map((f) => h('option', { value: f.id }, `${f.filename} (${f.id}, ${f.bytes} bytes)`));
    files.replaceChildren(...options());
    validation.replaceChildren(h('option', { value: '' }, 'none'), ...options());
  };
  const upload = h('form#upload-form', {
    onsubmit: async (event) => {
      event.preventDefault();
      const form = new FormData();
      form.append('purpose', 'fine-tune');
      form.append('file', fileInput.files[0]);
      try {
        const f = await call('training', 'files', { method: 'POST', form });
        status(`Uploaded ${f.filename} as ${f.id}.`);
        await refreshFiles();
        files.value = f.id;
      } catch (e) { showError(e); }
    },
  }, h('h3', {}, 'Upload a training file'),
  h('div.row', {},
    h('div.field', {}, h('label', { for: 'upload-file' }, 'JSONL file (chat messages, prompt/completion or preference pairs)'), fileInput),
    h('button#upload', { type: 'submit' }, 'Upload')));

  const model = h('select#job-model', {}, models.map((m) => h('option', { value: m }, m)));
  const suffix = h('input#job-suffix', { type: 'text', pattern: '[A-Za-z0-9._-]{1,64}', placeholder: 'derived' });
  const epochs = h('input#job-epochs', { type: 'number', min: 1, max: 50, value: 1 });
  const method = h('select#job-method', {}, h('option', { value: 'supervised' }, 'supervised'), h('option', { value: 'dpo' }, 'DPO'));
  const start = h('form#start-form', {
    onsubmit: async (event) => {
      event.preventDefault();
      const type = method.value;
      const body = {
        model: model.value, training_file: files.value,
        method: { type, [type]: { hyperparameters: { n_epochs: Number(epochs.value) } } },
      };
      if (suffix.value) body.suffix = suffix.value;
      if (validation.value) body.validation_file = validation.value;
      try {
        const job = await call('training', 'fine_tuning/jobs', { method: 'POST', json: body });
        location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
      } catch (e) { showError(e); }
    },
  }, h('h3', {}, 'Start a job'),
  h('div.row', {},
    h('div.field', {}, h('label', { for: 'job-file' }, 'Training file'), files),
    h('div.field', {}, h('label', { for: 'job-validation-file' }, 'Validation file (held-out loss)'), validation),
    h('div.field', {}, h('label', { for: 'job-model' }, 'Start from'), model),
    h('div.field', {}, h('label', { for: 'job-suffix' }, 'Adapter name'), suffix),
    h('div.field', {}, h('label', { for: 'job-method' }, 'Method'), method),
    h('div.field', {}, h('label', { for: 'job-epochs' }, 'Epochs'), epochs),
    h('button.primary#start-job', { type: 'submit' }, 'Start')));
  return { element: h('div', {}, upload, start), refreshFiles };
}

export async function jobsView() {
  const who = session.who();
  const list = h('div#jobs-list');
  const section = h('section', { 'aria-labelledby': 'jobs-title' }, h('h2#jobs-title', {}, 'Fine-tuning jobs'), list);
  if (!who.operator) {
    const models = (await call('serving', 'models')).data.flatMap((m) => m.versions ? [m.id, ...m.versions.map((v) => `${m.id}@${v}`)] : [m.id]);
    const form = startForm(models);
    section.append(form.element);
    await form.refreshFiles();
  }
  const stop = every(3000, async () => {
    const jobs = (await call('training', 'fine_tuning/jobs?limit=100')).data;
    list.replaceChildren(jobs.length ? table(
      ['Job', ...(who.operator ? ['Tenant'] : []), 'From', 'Status', 'Produced', 'Trigger', 'Created'],
      jobs.map((j) => [jobLink(j), ...(who.operator ? [j.organization_id] : []), j.model, badge(j.status, j.status),
        j.fine_tuned_model ?? '', j.metadata?.trigger ?? 'api', time(j.created_at)]), { id: 'jobs-table' })
      : h('p', {}, 'No jobs yet.'));
  });
  return { element: section, stop };
}

/** Every event of a job (pages of 100, newest first as OpenAI lists them). */
async function allEvents(id) {
  const events = [];
  let after = null;
  for (let page = 0; page < 50; page++) {
    const body = await call('training', `fine_tuning/jobs/${encodeURIComponent(id)}/events?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    events.push(...body.data);
    if (!body.has_more || body.data.length === 0) break;
    after = body.data[body.data.length - 1].id;
  }
  return events;
}

export async function jobView(id) {
  const header = h('div#job-header');
  const loss = chart('Loss by step: train and held-out', {
    type: 'line',
    data: { datasets: [
      { label: 'train loss', data: [], borderColor: '#0b5cad', backgroundColor: '#0b5cad', pointRadius: 2 },
      { label: 'held-out loss', data: [], borderColor: '#a3161b', backgroundColor: '#a3161b', pointRadius: 3, borderDash: [6, 3] },
    ] },
    options: { parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'step' } },
      y: { title: { display: true, text: 'loss' } } } },
  });
  const summary = h('p#loss-summary', { 'aria-live': 'polite' });
  const log = h('ol.log#events', { reversed: true });
  const checkpoints = h('div#checkpoints');
  const section = h('section', { 'aria-labelledby': 'job-title' },
    h('p', {}, h('a', { href: '#/jobs' }, '← all jobs')),
    h('h2#job-title', {}, `Job ${id}`), header,
    h('h3', {}, 'Loss'), loss.box, summary,
    h('h3', {}, 'Checkpoints'), checkpoints,
    h('h3', {}, 'Events'), log);

  let finishedSeen = false;
  let stop = () => {};
  const poll = async () => {
    const job = await call('training', `fine_tuning/jobs/${encodeURIComponent(id)}`);
    const events = (await allEvents(id)).sort((a, b) => (a.created_at - b.created_at) || String(a.id).localeCompare(String(b.id)));
    const train = [];
    const valid = [];
    for (const e of events) {
      const d = e.data;
      if (e.type !== 'metrics' || !d || typeof d.step !== 'number') continue;
      if (typeof d.train_loss === 'number') train.push({ x: d.step, y: d.train_loss });
      if (typeof d.valid_loss === 'number') valid.push({ x: d.step, y: d.valid_loss });
    }
    // Events of one second may come in any order: the curve goes by step.
    train.sort((a, b) => a.x - b.x);
    valid.sort((a, b) => a.x - b.x);
    loss.instance.data.datasets[0].data = train;
    loss.instance.data.datasets[1].data = valid;
    loss.instance.update();
    const last = train[train.length - 1];
    summary.textContent = `${train.length} train points, ${valid.length} held-out points`
      + (last ? `; latest step ${last.x}, train loss ${number(last.y)}` : '');
    summary.dataset.points = String(train.length);
    log.replaceChildren(...[...events].reverse().map((e) => h('li', { 'data-level': e.level }, `${time(e.created_at)} [${e.level}] ${e.message}`)));

    const cps = (await call('training', `fine_tuning/jobs/${encodeURIComponent(id)}/checkpoints`)).data;
    checkpoints.replaceChildren(cps.length ? table(['Step', 'Train loss', 'Held-out loss', 'Checkpoint'],
      cps.map((c) => [c.step_number, number(c.metrics?.train_loss), number(c.metrics?.valid_loss), c.fine_tuned_model_checkpoint ?? '']))
      : h('p', {}, 'None yet.'));

    const finished = FINISHED.has(job.status);
    const [adapter, version] = (job.fine_tuned_model ?? '').split('@');
    header.replaceChildren(...[
      h('p', {}, 'Status ', badge(job.status, job.status), h('span#job-status', { hidden: true }, job.status),
        ` · from ${job.model} · created ${time(job.created_at)}`, job.finished_at ? ` · finished ${time(job.finished_at)}` : ''),
      job.fine_tuned_model ? h('p', {}, 'Produced ', h('a#produced', {
        href: `#/adapters/${encodeURIComponent(job.organization_id)}/${encodeURIComponent(adapter)}`,
      }, job.fine_tuned_model), version ? '' : '') : null,
      job.error ? h('p.status.error', {}, `${job.error.code}: ${job.error.message}`) : null,
      finished ? null : h('button.danger#cancel-job', {
        type: 'button',
        onclick: async () => {
          if (!await confirmAction(`Cancel job ${id}? It stops within a few steps and produces no version.`, 'Cancel job')) return;
          try {
            await call('training', `fine_tuning/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
            status(`Job ${id} is being cancelled.`);
          } catch (e) { showError(e); }
        },
      }, 'Cancel job')].filter(Boolean));
    if (finished) {
      if (finishedSeen) stop(); // one more poll after the end picks up the last events
      finishedSeen = true;
    }
  };
  stop = every(1000, poll);
  return { element: section, stop: () => { stop(); loss.instance.destroy(); } };
}
