/**
 * Hash routes: each shows one view (a section of index.html) and hides the others. A route's path is the
 * part of the hash before "?", its query the part after. When the view changes (another view, or another
 * job) the page's title follows and the keyboard focus moves to the new view's heading (tabindex=-1), so
 * that a screen reader announces where the reader now is; a new query on the same view (a filter) leaves
 * the focus where it is. The skip link moves the focus to the main region without changing the route.
 */
import { $ } from './dom.js';

/**
 * A route: `match(path)` answers its parameters or null; `view` the section's id;
 * `heading` the id of the heading that gets the focus; `key(params)` tells one page of the
 * view from another (default: the view); `title(params)`; `enter(params, query)` runs on each
 * hash change that lands on it; `leave()` when the reader goes elsewhere; `allowed()`, when
 * false, sends the reader to "#/".
 */
const routes = [];

/** The route on screen and the key of its page; null before the first. */
let current = null;

export function addRoute(route) {
  routes.push(route);
}

/** The path and the query of a hash: "#/?status=FAILED" → "/" and status=FAILED. */
export function parse(hash) {
  const h = (hash || '#/').replace(/^#/, '') || '/';
  const q = h.indexOf('?');
  return { path: q < 0 ? h : h.substring(0, q), query: new URLSearchParams(q < 0 ? '' : h.substring(q + 1)) };
}

/** Writes the query of the route on screen into the URL, without a new history entry or a hash change. */
export function replaceQuery(query) {
  const { path } = parse(location.hash);
  const text = query.toString();
  history.replaceState(null, '', '#' + path + (text ? '?' + text : ''));
}

function resolve() {
  const { path, query } = parse(location.hash);
  for (const route of routes) {
    const params = route.match(path);
    if (params) return { route, params, query };
  }
  return { route: routes[routes.length - 1], params: {}, query }; // the default
}

function dispatch() {
  const { route, params, query } = resolve();
  if (route.allowed && !route.allowed()) {
    location.replace('#/');
    return;
  }
  const key = route.view + (route.key ? ':' + route.key(params) : '');
  const moved = current !== null && current.key !== key;
  if (current && current.route !== route && current.route.leave) current.route.leave();
  for (const r of routes) $(r.view).hidden = r.view !== route.view;
  document.title = route.title(params);
  current = { route, key };
  route.enter(params, query);
  // not on the first page of a visit: there the reader starts at the top, as on any page
  if (moved) focusHeading(route);
}

/** A new view starts at its top, as a new page would, with the focus on its heading. */
function focusHeading(route) {
  const heading = $(route.heading);
  window.scrollTo(0, 0);
  if (heading) heading.focus({ preventScroll: true });
}

/** The skip link: the focus to main, the route unchanged (its href "#main" would be taken as a route). */
function wireSkipLink() {
  for (const link of document.querySelectorAll('a.skip')) {
    link.addEventListener('click', (e) => {
      e.preventDefault();
      const target = $(link.getAttribute('href').substring(1));
      if (target) target.focus();
    });
  }
}

/** Shows the route in the URL now and follows every change of it. The last route added is the default. */
export function startRouter() {
  wireSkipLink();
  window.addEventListener('hashchange', dispatch);
  dispatch();
}
