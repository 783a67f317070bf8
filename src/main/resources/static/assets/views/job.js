/**
 * One job: its view from the stream GET api/jobs/{id}/events (event "job" at once and on each change,
 * "end" with the last view once the job has ended, when the stream is closed here), its throughput chart,
 * and the actions. Which actions a button is shown for comes from the view's `actions`: what the
 * server lets this user do to the job now (none for a VIEWER), so no rule of the server is copied here.
 */
import { api, jobPath } from '../api.js';
import { $, h, badge, barClass, confirmAction, download, progress, timeEl, toast } from '../dom.js';
import { bytes, duration, percent, rate } from '../format.js';
import { draw, dropChart, hasChart, samplesToData } from '../chart.js';
import { stream } from '../stream.js';

/** A running job's chart is reloaded at most this often (its view comes every second). */
const CHART_EVERY_MILLIS = 2000;

const ACTIONS = {
  stop: { button: 'job-stop', title: 'Stop this job?', ok: 'Stop',
    text: 'A running job stops at its next commit and can be restarted from there; a queued job leaves the queue.' },
  restart: { button: 'job-restart', title: 'Restart this job?', ok: 'Restart',
    text: 'It goes to the end of the queue and continues where it stopped.' },
  abandon: { button: 'job-abandon', title: 'Abandon this job?', ok: 'Abandon',
    text: 'It will never run again; its committed work is kept but not finished.' },
};

/** The job on screen: its id (from the route), its latest view, its stream, when its chart was loaded. */
const job = { id: null, view: null, stream: null, chartAt: 0 };

/** Opens the job of the route (again, with `again`: after a restart of it, or of the service). */
export function enterJob(id, again) {
  if (job.id === id && !again) return;
  if (job.stream) job.stream.close();
  if (job.id !== id) {
    job.view = null;
    dropChart('job');
    $('job-title').textContent = id; // until its view comes, the heading that has the focus names it
  }
  job.id = id;
  job.chartAt = 0;
  job.stream = stream(jobPath(id, 'events'), {
    events: {
      job: (view) => renderJob(view, false),
      end: (view) => {
        job.stream.close(); // else the browser would open it again
        renderJob(view, true);
      },
    },
  });
}

export function leaveJob() {
  if (job.stream) job.stream.close();
  job.stream = null;
  job.id = null;
  job.view = null;
  dropChart('job');
}

/** After the service came back: the job on screen, reloaded. */
export function reloadJob() {
  if (job.id) enterJob(job.id, true);
}

const fact = (label, value, id) => h('div', { id }, h('dt', {}, label), h('dd', {}, value));

function renderJob(v, ended) {
  if (v.id !== job.id) return;
  job.view = v;
  $('job-title').textContent = v.name || v.id;
  const status = $('job-status');
  status.className = 'badge ' + v.status;
  status.textContent = v.status;
  status.dataset.status = v.status;
  $('job-sub').textContent = v.operation + ' · ' + v.id + (v.phase ? ' · ' + v.phase : '')
    + (v.queuePosition !== null && v.queuePosition !== undefined ? ' · ' + v.queuePosition + ' queued before it' : '');
  const allowed = v.actions || [];
  for (const [action, a] of Object.entries(ACTIONS)) $(a.button).hidden = !allowed.includes(action);

  const p = v.progress;
  const bar = $('job-bar');
  bar.setAttribute('aria-valuenow', String(p.percent));
  bar.dataset.percent = String(p.percent);
  bar.className = barClass('bar big', v.status);
  bar.firstElementChild.style.width = p.percent + '%';
  const t = v.timings;
  $('job-facts').replaceChildren(
    fact('Done', percent(p.percent), 'fact-percent'),
    fact('Files', p.filesDone + ' of ' + p.filesTotal, 'fact-files'),
    fact('Bytes', bytes(p.bytesDone) + ' of ' + bytes(p.bytesTotal), 'fact-bytes'),
    fact('Throughput', rate(p.bytesPerSecond), 'fact-rate'),
    fact('Time left', duration(p.etaSeconds), 'fact-eta'), // the server gives it only while the job runs
    fact('Run time', duration(t.runSeconds), 'fact-run'),
    fact('Queued for', duration(t.queuedSeconds), 'fact-queued'),
    fact('I/O engine', v.engine || '–', 'fact-engine'),
    fact('Instance', v.instance || '–', 'fact-instance'),
    fact('Started', timeEl(v.startedAt), 'fact-started'),
    fact('Ended', timeEl(v.endedAt), 'fact-ended'),
  );
  renderSplit(t);

  const err = $('job-error');
  err.hidden = !v.error;
  if (v.error) {
    $('job-error-message').textContent = v.error.message;
    $('job-error-detail').textContent = v.error.detail || '(no further detail)';
  }

  $('job-partitions').tBodies[0].replaceChildren(...v.partitions.map((pt) => h('tr', {},
    h('td', {}, String(pt.index)), h('td', {}, badge(pt.status || 'QUEUED')),
    h('td', { class: 'worker' }, pt.worker || '–'), h('td', { class: 'num opt' }, String(pt.attempts)),
    h('td', { class: 'opt' }, String(pt.files)),
    h('td', {}, progress(pt.percent, pt.status, 'partition ' + pt.index)),
    h('td', { class: 'opt' }, bytes(pt.bytesDone) + ' / ' + bytes(pt.bytesTotal)),
    h('td', { class: 'num' }, pt.waitSeconds.toFixed(2)), h('td', { class: 'num' }, pt.busySeconds.toFixed(2)))));
  $('job-partitions-empty').hidden = v.partitions.length > 0;

  $('job-executions').tBodies[0].replaceChildren(...v.executions.map((e) => h('tr', {},
    h('td', {}, String(e.id)), h('td', {}, badge(e.status)), h('td', {}, timeEl(e.startedAt)),
    h('td', { class: 'opt' }, timeEl(e.endedAt)),
    h('td', { class: 'opt' }, (e.exitCode || '') + (e.exitDescription ? ': ' + e.exitDescription : '')))));

  renderOutput(v);
  $('job-spec').textContent = JSON.stringify(v.spec, null, 2);
  $('job-definition').textContent = JSON.stringify(v.definition, null, 2);

  // the chart: at once, then at most every 2 s while views come, and once more with the last view
  const now = Date.now();
  if (!hasChart('job') || ended || now - job.chartAt > CHART_EVERY_MILLIS) {
    job.chartAt = now;
    loadThroughput(v.id);
  }
}

function renderSplit(t) {
  const total = t.waitSeconds + t.busySeconds;
  const waitPct = total > 0 ? (100 * t.waitSeconds) / total : 0;
  $('job-split').firstElementChild.style.width = (total > 0 ? 100 - waitPct : 0) + '%';
  $('job-split').lastElementChild.style.width = waitPct + '%';
  $('job-split-text').textContent = total > 0
    ? 'Workers computed for ' + duration(t.busySeconds) + ' and waited for I/O for ' + duration(t.waitSeconds)
      + ': ' + waitPct.toFixed(1) + ' % of their time went to waiting. A low share means the engine kept the reads '
      + 'ahead of the processing.'
    : 'Nothing measured yet.';
  $('job-split-text').dataset.waitShare = t.waitShare === null ? '' : String(t.waitShare);
}

/**
 * Where an output file downloads from: by its path when the server takes that path as it is; else by the
 * bytes of its name (?path=, base64url): a name that is not UTF-8 (its shown name has \xHH where the bytes
 * are, so only nameBase64 has them), or one with a character the server's firewall refuses in a path
 * (backslash, percent sign, semicolon, control characters).
 */
function outputHref(id, file) {
  const exact = utf8Base64(file.name) === file.nameBase64;
  if (exact && !/[\\%;\u0000-\u001f\u007f]/.test(file.name)) {
    return jobPath(id, 'output', ...file.name.split('/').map(encodeURIComponent));
  }
  return jobPath(id, 'output') + '?path=' + encodeURIComponent(file.nameBase64);
}

/** The text's UTF-8 bytes as base64url without padding, as the API gives nameBase64. */
function utf8Base64(text) {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function renderOutput(v) {
  const out = v.output;
  $('job-output-path').textContent = out ? out.path + (out.exists ? '' : ' (results appear when the job completes)') : '';
  const files = (out ? out.files : []).map((f) => h('li', {},
    h('a', { href: outputHref(v.id, f), download: f.name.split('/').pop(), class: 'output-file' }, f.name),
    ' ', h('span', { class: 'muted' }, bytes(f.size))));
  if (out && out.truncated) files.push(h('li', { class: 'muted' }, 'more files: see api/jobs/' + v.id + '/output'));
  $('job-output').replaceChildren(...files);
}

async function loadThroughput(id) {
  let points;
  try {
    points = await api(jobPath(id, 'throughput'));
  } catch (e) {
    return;
  }
  if (job.id !== id) return;
  const container = $('job-chart');
  $('job-chart-empty').hidden = points.length > 0;
  container.dataset.points = String(points.length);
  draw('job', container, samplesToData(points));
}

async function steer(action) {
  const v = job.view;
  const a = ACTIONS[action];
  if (!v || !(await confirmAction(a.title, a.text, a.ok))) return;
  try {
    const view = await api(jobPath(v.id, action), { method: 'POST' });
    renderJob(view, false);
    toast('Job ' + (v.name || v.id) + ': ' + view.status);
    if (action === 'restart' && job.id === v.id) enterJob(v.id, true); // its stream had ended with the job
  } catch (e) {
    toast('Could not ' + action + ' the job: ' + e.message, true);
  }
}

function errorReport(v) {
  return ['job ' + v.id + (v.name ? ' (' + v.name + ')' : '') + ': ' + v.status, '', v.error.message, '',
    v.error.detail || '', '', 'executions:',
    ...v.executions.map((e) => '  ' + e.id + ' ' + e.status + ' ' + (e.startedAt || '') + ' .. ' + (e.endedAt || '')
      + ' ' + (e.exitCode || '') + (e.exitDescription ? ': ' + e.exitDescription : ''))].join('\n') + '\n';
}

export function wireJob() {
  for (const [action, a] of Object.entries(ACTIONS)) $(a.button).addEventListener('click', () => steer(action));
  $('job-download').addEventListener('click', () => {
    if (job.view) download('job-' + job.view.id + '.json', 'application/json', JSON.stringify(job.view, null, 2));
  });
  $('job-error-download').addEventListener('click', () => {
    if (job.view && job.view.error) download('job-' + job.view.id + '-error.txt', 'text/plain', errorReport(job.view));
  });
}
