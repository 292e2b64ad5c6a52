// Calls to the services through the console's backend-for-frontend (/api/<service>/… → the service's /v1/…),
// with the signed-in caller's key. The key lives in sessionStorage only: gone when the browser session ends.
const KEY = 'chorus.key';
const WHO = 'chorus.who';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  who: () => JSON.parse(sessionStorage.getItem(WHO) || 'null'),
  start(key, who) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(WHO, JSON.stringify(who));
  },
  end() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(WHO);
  },
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(key, extra) {
  return { Authorization: `Bearer ${key ?? session.key()}`, ...extra };
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body?.error?.message ?? body?.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent('chorus:unauthorized'));
  }
  return new ApiError(response.status, message);
}

/** JSON in, JSON out. {json} is sent as the body; {form} as multipart. */
export async function call(service, path, { method = 'GET', json, form, key } = {}) {
  const init = { method, headers: headers(key, json === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (json !== undefined) init.body = JSON.stringify(json);
  if (form !== undefined) init.body = form;
  const response = await fetch(`/api/${service}/${path}`, init);
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** A streamed completion: POSTs {json} and yields each server-sent event's JSON until [DONE]. */
export async function* stream(service, path, json, signal) {
  const response = await fetch(`/api/${service}/${path}`, {
    method: 'POST', signal, headers: headers(undefined, { 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
    body: JSON.stringify(json),
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      if (data === '[DONE]') return;
      if (data) {
        const parsed = JSON.parse(data);
        if (parsed.error) throw new ApiError(500, parsed.error.message);
        yield parsed;
      }
    }
  }
}
