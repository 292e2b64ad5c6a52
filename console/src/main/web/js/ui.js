// Small DOM helpers shared by the views: element building (text only, never HTML strings), status line,
// confirmation dialog, charts.

/** h('tag.class#id', {attrs}, ...children): children are nodes or text. */
export function h(spec, attrs = {}, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/);
  const el = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) ?? []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'text') el.textContent = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function status(message, error = false) {
  const el = document.getElementById('status');
  el.textContent = message ?? '';
  el.classList.toggle('error', error);
}

export function showError(e) {
  status(e?.message ?? String(e), true);
}

/** Asks in a modal dialog; resolves true on Confirm. */
export function confirmAction(text, confirmLabel = 'Confirm') {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = confirmLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

export function table(headers, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))));
}

export function badge(text, kind) {
  return h(`span.badge.${kind}`, {}, text);
}

export function time(seconds) {
  if (seconds === null || seconds === undefined) return '';
  const d = typeof seconds === 'number' ? new Date(seconds * 1000) : new Date(seconds);
  return d.toLocaleString();
}

export function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function number(x, digits = 4) {
  return typeof x === 'number' ? Number(x.toFixed(digits)).toString() : '';
}

/** A Chart.js chart in an accessible container: the canvas is labelled, and a caption says what it shows. */
export function chart(label, config) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  const box = h('div.chart', {}, canvas);
  const instance = new window.Chart(canvas, {
    ...config,
    options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options },
  });
  return { box, instance };
}

/** Repeats fn every ms while the view is shown; returns the stop function the router calls. */
export function every(ms, fn) {
  let stopped = false;
  let timer;
  const tick = async () => {
    if (stopped) return;
    try { await fn(); } catch (e) { showError(e); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
