// The console's shell: sign-in (the key is kept in sessionStorage for this browser session only), the nav, and
// a hash router that shows one view at a time and stops the previous view's polling.
import { call, session } from './api.js';
import { h, status, showError } from './ui.js';
import { adaptersView, adapterView } from './views/adapters.js';
import { jobsView, jobView } from './views/jobs.js';
import { feedbackView } from './views/feedback.js';
import { playgroundView } from './views/playground.js';
import { servingView } from './views/serving.js';

const routes = [
  [/^#\/adapters\/([^/]+)\/([^/]+)$/, (m) => adapterView(decodeURIComponent(m[1]), decodeURIComponent(m[2]))],
  [/^#\/adapters$/, () => adaptersView()],
  [/^#\/jobs\/([^/]+)$/, (m) => jobView(decodeURIComponent(m[1]))],
  [/^#\/jobs$/, () => jobsView()],
  [/^#\/feedback(?:\/([^/]+)\/([^/]+))?$/, (m) => feedbackView(m[1] && decodeURIComponent(m[1]), m[2] && decodeURIComponent(m[2]))],
  [/^#\/playground$/, () => playgroundView()],
  [/^#\/serving$/, () => servingView()],
];

const view = document.getElementById('view');
let stopView = null;

function signInForm() {
  const input = h('input#api-key', { type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'key-hint' });
  const form = h('form.signin', {
    onsubmit: async (event) => {
      event.preventDefault();
      const key = input.value.trim();
      try {
        // Serving says whose key it is (and rejects an unknown one); nothing here decides what the key may see.
        const usage = await call('serving', 'usage', { key });
        session.start(key, { tenant: usage.tenant, operator: usage.operator });
        input.value = '';
        status('');
        if (!location.hash || location.hash === '#/') location.hash = '#/adapters';
        else render();
      } catch (e) {
        showError(e.status === 401 ? 'This key was not accepted.' : e);
      }
    },
  },
  h('h2', {}, 'Sign in'),
  h('div.field', {}, h('label', { for: 'api-key' }, 'API key'), input),
  h('p.hint#key-hint', {}, 'A tenant key shows that tenant only; an operator key shows every tenant. The key is kept in this '
    + 'browser tab until you sign out or close it, and is sent only to this console, which passes it on to the services.'),
  h('button.primary#sign-in', { type: 'submit' }, 'Sign in'));
  return form;
}

function shell(signedIn) {
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('who').hidden = !signedIn;
  const who = session.who();
  document.getElementById('who-name').textContent = !who ? '' : who.operator ? 'Operator (all tenants)' : `Tenant ${who.tenant}`;
  for (const a of document.querySelectorAll('nav a')) {
    if (location.hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render() {
  if (stopView) { stopView(); stopView = null; }
  view.replaceChildren();
  if (!session.key()) {
    shell(false);
    view.append(signInForm());
    document.getElementById('api-key').focus();
    return;
  }
  if (!location.hash || location.hash === '#/') { location.hash = '#/adapters'; return; }
  shell(true);
  const match = routes.map(([re, make]) => [location.hash.match(re), make]).find(([m]) => m);
  if (!match) { view.append(h('p', {}, 'No such page.')); return; }
  try {
    const shown = await match[1](match[0]);
    view.replaceChildren(shown.element);
    stopView = shown.stop ?? null;
    view.focus();
  } catch (e) {
    showError(e);
  }
}

document.getElementById('sign-out').addEventListener('click', () => {
  session.end();
  status('Signed out.');
  location.hash = '';
  render();
});
window.addEventListener('chorus:unauthorized', () => {
  session.end();
  status('The key was not accepted any more: sign in again.', true);
  render();
});
window.addEventListener('hashchange', () => { status(''); render(); });
render();
