/**
 * The REST API: JSON in and out, errors as RFC 9457 problem details, the CSRF token on every request
 * that changes something, and the session (who is signed in, GET api/me). A 401 sends the page to the
 * login form and back to where it was; a 403 on a change may be a CSRF token that a restart of the
 * service made stale, so the token is fetched again and the request tried once more.
 */

/** A refused or failed request: the HTTP status (0: the service was not reached) and its problem details. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
    this.status = status;
    this.problem = problem;
  }
}

/** Who is signed in: GET api/me ({ name, roles, operator, csrf }); null until it is known. */
export const session = { me: null };

const sessionListeners = [];

/** Calls fn with api/me each time it is (re)loaded. */
export function onSession(fn) {
  sessionListeners.push(fn);
}

export const isOperator = () => !!(session.me && session.me.operator);

const RETURN_KEY = 'ringbatch.return';

/** To the login form; the route on screen comes back after it (see takeReturnRoute). */
export function toLogin() {
  try { sessionStorage.setItem(RETURN_KEY, location.hash); } catch (e) { /* private mode: back to the start */ }
  location.href = 'login';
}

/** The route the page was on when the session ran out, once. */
export function takeReturnRoute() {
  try {
    const back = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    return back;
  } catch (e) {
    return null;
  }
}

/**
 * A request: `options.method`, `options.json` (the body), `options.headers`. Resolves
 * with the parsed body; rejects with an ApiError.
 */
export async function api(path, options = {}) {
  const method = options.method || 'GET';
  const headers = { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json, application/problem+json' };
  Object.assign(headers, options.headers || {});
  let body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const csrf = session.me && session.me.csrf;
  if (method !== 'GET' && csrf) headers[csrf.headerName] = csrf.token;
  let response;
  try {
    response = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, { detail: 'the service cannot be reached' });
  }
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, { detail: 'signed out' });
  }
  if (response.status === 403 && method !== 'GET' && !options.retried) {
    await loadMe();
    if (isOperator()) return api(path, { ...options, retried: true });
  }
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof data === 'object' ? data : { detail: data });
  return data;
}

/** Loads api/me (a session that is gone is renewed by the "stay signed in" cookie) and tells the listeners. */
export async function loadMe() {
  session.me = await api('api/me');
  for (const fn of sessionListeners) fn(session.me);
  return session.me;
}

/** The path of a job's resource: api/jobs/{id}/{...rest}, each part encoded. */
export const jobPath = (id, ...rest) => ['api/jobs', encodeURIComponent(id), ...rest].join('/');
