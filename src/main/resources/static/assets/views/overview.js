/**
 * The overview's cards (jobs running and queued, throughput, workers, the I/O engine), its chart of
 * the last 10 minutes, and the Workers panel. GET api/overview brings the 10 minutes; each event of the
 * stream brings the newest samples, added here, one a second, at most 600 kept. The Workers panel is
 * GET api/workers (the instances that share the database), fetched again with the overview at most every
 * WORKERS_EVERY_MILLIS.
 */
import { api } from '../api.js';
import { $, h, timeEl } from '../dom.js';
import { rate } from '../format.js';
import { draw, fit, samplesToData } from '../chart.js';

const KEPT_SAMPLES = 600;
const WORKERS_EVERY_MILLIS = 2000;

/** When the workers were last asked for, and whether a request is out. */
const workers = { at: 0, loading: false };

/** The chart's samples, oldest first. */
let samples = [];

/** Shows an overview: `full` when it carries the whole history (GET) rather than the newest (event). */
export function renderOverview(o, full) {
  $('ov-running').textContent = o.running + ' / ' + o.maxConcurrentJobs;
  $('ov-running-sub').textContent = 'jobs running of ringbatch.max-concurrent-jobs';
  $('ov-queued').textContent = String(o.queued);
  $('ov-queued-sub').textContent = 'waiting; queue holds ' + o.queueCapacity;
  $('ov-rate').textContent = rate(o.bytesPerSecond);
  $('ov-workers').textContent = o.workers.active + ' / ' + o.workers.size;
  $('ov-workers-sub').textContent = 'running partitions; in the last second ' + o.workers.busy.toFixed(1)
    + ' computing, ' + o.workers.waiting.toFixed(1) + ' waiting for I/O';
  $('ov-engine').textContent = o.engine.name;
  $('ov-engine-sub').textContent = o.engine.fallbackReason
    ? 'requested ' + o.engine.requested + ', fell back: ' + o.engine.fallbackReason
    : 'requested ' + o.engine.requested;
  addSamples(o.history, full);
  if (full || Date.now() - workers.at >= WORKERS_EVERY_MILLIS) loadWorkers();
}

async function loadWorkers() {
  if (workers.loading) return;
  workers.loading = true;
  workers.at = Date.now();
  try {
    renderWorkers(await api('api/workers'));
  } catch (e) {
    /* the next overview tries again */
  } finally {
    workers.loading = false;
  }
}

function renderWorkers(list) {
  $('workers-table').tBodies[0].replaceChildren(...list.map((w) => h('tr', { dataset: { instance: w.id } },
    h('td', { class: 'instance' }, w.id), h('td', {}, w.role),
    h('td', { class: 'num running' }, String(w.partitionsRunning)), h('td', { class: 'num opt' }, String(w.threads)),
    h('td', { class: 'opt' }, timeEl(w.started)), h('td', {}, timeEl(w.lastSeen)))));
  $('workers-empty').hidden = list.length > 0;
}

function addSamples(history, full) {
  if (full) {
    samples = history.slice();
  } else {
    const last = samples[samples.length - 1];
    for (const s of history) if (!last || s.t > last.t) samples.push(s);
    if (samples.length > KEPT_SAMPLES) samples = samples.slice(samples.length - KEPT_SAMPLES);
  }
  const container = $('overview-chart');
  draw('overview', container, samplesToData(samples));
  container.dataset.points = String(samples.length);
}

/** The chart was drawn while its view was hidden: give it its width. */
export function showOverview() {
  fit('overview');
}
