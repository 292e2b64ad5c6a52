// Playground: chat with the base or any of the caller's adapter versions, streamed; every reply can be rated
// (thumbs up/down) or corrected, which is sent as feedback.
import { call, stream } from '../api.js';
import { h, status, showError } from '../ui.js';

function feedbackControls(reply) {
  const note = h('span.meta', { 'aria-live': 'polite' });
  const send = async (rating, correction) => {
    try {
      const body = { completion_id: reply.id, rating };
      if (correction) body.correction = correction;
      const r = await call('serving', 'feedback', { method: 'POST', json: body });
      note.textContent = `Feedback recorded (${r.event_id}).`;
      note.classList.add('sent');
      for (const b of controls.querySelectorAll('button')) b.disabled = true;
    } catch (e) { showError(e); }
  };
  const correction = h('textarea.correction', { rows: 2, cols: 50, 'aria-label': 'A better answer' });
  const suggest = h('form.suggest', {
    hidden: true,
    onsubmit: (event) => { event.preventDefault(); if (correction.value.trim()) send(-1, correction.value); },
  }, h('label', {}, 'A better answer', correction), h('button.primary', { type: 'submit' }, 'Send correction'));
  const controls = h('div.rate', {},
    h('button.up', { type: 'button', 'aria-label': 'Good answer', title: 'Good answer', onclick: () => send(1) }, '👍'),
    h('button.down', { type: 'button', 'aria-label': 'Bad answer', title: 'Bad answer', onclick: () => send(-1) }, '👎'),
    h('button.suggest-open', { type: 'button', onclick: () => { suggest.hidden = false; correction.focus(); } }, 'Suggest a better answer'),
    suggest, note);
  return controls;
}

export async function playgroundView() {
  const models = (await call('serving', 'models')).data;
  const choices = models.flatMap((m) => m.versions
    ? [[m.id, `${m.id} (active: v${m.active_version})`], ...m.versions.map((v) => [`${m.id}@${v}`, `${m.id}@${v}`])]
    : [[m.id, `${m.id} (base)`]]);
  const model = h('select#chat-model', {}, choices.map(([value, label]) => h('option', { value }, label)));
  const maxTokens = h('input#chat-max-tokens', { type: 'number', min: 1, max: 512, value: 48 });
  const temperature = h('input#chat-temperature', { type: 'number', min: 0, max: 2, step: 0.1, value: 0.8 });
  const input = h('textarea#chat-input', { rows: 3, cols: 60, required: true });
  const log = h('ol.chat#chat-log', { 'aria-live': 'polite' });
  const messages = [];
  let controller = null;
  const sendButton = h('button.primary#chat-send', { type: 'submit' }, 'Send');
  const form = h('form#chat-form', {
    onsubmit: async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      messages.push({ role: 'user', content: text });
      log.append(h('li.user', {}, h('span.meta', {}, 'You: '), text));
      const content = h('span.content');
      const meta = h('div.meta', {}, `${model.value} · streaming…`);
      const item = h('li.assistant', { 'aria-busy': 'true' }, meta, content);
      log.append(item);
      const reply = { id: null, model: null, text: '' };
      sendButton.disabled = true;
      controller = new AbortController();
      try {
        for await (const chunk of stream('serving', 'chat/completions', {
          model: model.value, messages, stream: true, max_tokens: Number(maxTokens.value), temperature: Number(temperature.value),
        }, controller.signal)) {
          reply.id ??= chunk.id;
          reply.model ??= chunk.model;
          const delta = chunk.choices?.[0]?.delta?.content ?? '';
          reply.text += delta;
          content.textContent = reply.text;
        }
        messages.push({ role: 'assistant', content: reply.text });
        meta.textContent = `${reply.model} · ${reply.id}`;
        item.dataset.completionId = reply.id;
        item.append(feedbackControls(reply));
      } catch (e) {
        meta.textContent = `${model.value} · failed`;
        showError(e);
      } finally {
        item.removeAttribute('aria-busy');
        sendButton.disabled = false;
        controller = null;
      }
    },
  },
  h('div.field', {}, h('label', { for: 'chat-input' }, 'Message'), input),
  h('div.row', {}, sendButton,
    h('button', { type: 'button', onclick: () => { messages.length = 0; log.replaceChildren(); status('New conversation.'); } }, 'New conversation')));
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  const section = h('section', { 'aria-labelledby': 'playground-title' },
    h('h2#playground-title', {}, 'Playground'),
    h('div.row', {},
      h('div.field', {}, h('label', { for: 'chat-model' }, 'Model'), model),
      h('div.field', {}, h('label', { for: 'chat-max-tokens' }, 'Max tokens'), maxTokens),
      h('div.field', {}, h('label', { for: 'chat-temperature' }, 'Temperature'), temperature)),
    log, form);
  return { element: section, stop: () => controller?.abort() };
}
