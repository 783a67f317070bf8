/*
 * ringbatch dashboard: plain JavaScript modules over the REST API, loaded by the browser as they are (no
 * build step). This one starts the page: the header (who is signed in, the connection), the routes, and
 * the overview's stream. Live data comes from two server-sent event streams: api/overview/events (the
 * whole service, every second) and api/jobs/{id}/events (the job on screen, views/job.js). When the
 * overview's stream drops (the service restarts) the page says so, reconnects by itself and reloads what
 * it shows; a session that is gone is renewed by the "stay signed in" cookie, and the CSRF token is
 * fetched again.
 */
import { api, isOperator, loadMe, onSession, takeReturnRoute } from './api.js';
import { $ } from './dom.js';
import { stream } from './stream.js';
import { addRoute, startRouter } from './router.js';
import { renderOverview, showOverview } from './views/overview.js';
import { enterJobs, loadList, overviewForJobs, wireJobs } from './views/jobs.js';
import { enterJob, leaveJob, reloadJob, wireJob } from './views/job.js';
import { enterSubmit, overviewForSubmit, wireSubmit } from './views/submit.js';

/** The overview's stream: whether it is open, and whether it ever was (a reopening reloads the page's data). */
const connection = { live: false, everLive: false };

function setConnection(status, text) {
  const c = $('conn');
  c.className = 'conn ' + status;
  c.textContent = text;
  c.dataset.state = status;
}

function showSession(me) {
  $('who').textContent = me.name + ' · ' + (me.operator ? 'operator' : 'viewer');
  $('logout-csrf').name = me.csrf ? me.csrf.parameterName : '_csrf';
  $('logout-csrf').value = me.csrf ? me.csrf.token : '';
  document.body.classList.toggle('is-operator', me.operator);
  for (const el of document.querySelectorAll('.operator-only')) el.hidden = !me.operator;
}

/** An overview, from GET (with its 10 minutes of history: `full`) or from the stream. */
function overview(o, full) {
  renderOverview(o, full);
  overviewForJobs(o);
  overviewForSubmit(o);
}

/** After the stream was down: the session, the overview with its history, the list, the job. */
async function resync() {
  try {
    await loadMe();
    overview(await api('api/overview'), true);
    await loadList();
    reloadJob();
  } catch (e) {
    /* the next event tries again */
  }
}

function startOverviewStream() {
  stream('api/overview/events', {
    events: { overview: (o) => overview(o, false) },
    onOpen: () => {
      const wasDown = !connection.live && connection.everLive;
      connection.live = true;
      connection.everLive = true;
      setConnection('live', 'live');
      if (wasDown) resync();
    },
    onDrop: () => {
      connection.live = false;
      setConnection('reconnecting', 'reconnecting…');
    },
  });
}

function routes() {
  addRoute({
    match: (path) => { const m = path.match(/^\/jobs\/([^/]+)/); return m && { id: decodeURIComponent(m[1]) }; },
    view: 'view-job', heading: 'job-title', key: (p) => p.id, title: (p) => 'Job ' + p.id + ' · ringbatch',
    enter: (p) => enterJob(p.id), leave: leaveJob,
  });
  addRoute({
    match: (path) => (path.startsWith('/submit') ? {} : null),
    view: 'view-submit', heading: 'h-submit', title: () => 'Submit a job · ringbatch',
    allowed: isOperator, enter: enterSubmit,
  });
  addRoute({ // the default: "#/", with the list's query
    match: () => ({}),
    view: 'view-home', heading: 'h-overview', title: () => 'ringbatch',
    enter: (p, query) => { enterJobs(query); showOverview(); },
  });
}

async function boot() {
  onSession(showSession);
  wireJobs();
  wireJob();
  wireSubmit();
  routes();
  try {
    await loadMe();
  } catch (e) {
    if (e.status === 401) return; // off to the login form
    setConnection('reconnecting', 'the service cannot be reached');
  }
  const back = takeReturnRoute();
  if (back && (!location.hash || location.hash === '#/')) history.replaceState(null, '', back);
  try {
    overview(await api('api/overview'), true);
  } catch (e) { /* the stream brings it */ }
  startRouter();
  startOverviewStream();
  window.ringbatchDashboard = { ready: true }; // for the browser tests: the page is wired and shows its route
}

boot();
