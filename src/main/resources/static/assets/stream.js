/**
 * Server-sent event streams that come back by themselves. The browser retries a dropped stream on its
 * own; one the server refused (401 after a restart without a session, 503 when too many are open) is
 * closed for good by the browser, so it is opened again here, after 1 s, 2 s, ... at most 10 s. Before
 * that the session is renewed: a 401 there goes to the login form and the stream stays shut.
 */
import { loadMe } from './api.js';

const MAX_PAUSE_MILLIS = 10000;

/**
 * Opens url. `events` maps event names to functions of the parsed data; `onOpen` runs each
 * time the stream is (re)connected, `onDrop` each time it drops. The answer has `close()`.
 */
export function stream(url, { events, onOpen, onDrop }) {
  const s = { closed: false, source: null, failures: 0, timer: null };
  const open = () => {
    if (s.closed) return;
    const source = new EventSource(url);
    s.source = source;
    source.addEventListener('open', () => {
      s.failures = 0;
      if (onOpen) onOpen();
    });
    for (const [event, fn] of Object.entries(events)) {
      source.addEventListener(event, (e) => { if (!s.closed) fn(JSON.parse(e.data)); });
    }
    source.addEventListener('error', () => {
      if (s.closed) return;
      if (onDrop) onDrop();
      if (source.readyState !== EventSource.CLOSED) return; // the browser tries again itself
      s.failures++;
      s.timer = setTimeout(async () => {
        if (s.closed) return;
        try {
          await loadMe();
        } catch (e) {
          if (e.status === 401) return; // off to the login form
        }
        open();
      }, Math.min(MAX_PAUSE_MILLIS, 1000 * s.failures));
    });
  };
  open();
  return {
    close() {
      s.closed = true;
      clearTimeout(s.timer);
      if (s.source) s.source.close();
    },
  };
}
