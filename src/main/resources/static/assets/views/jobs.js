/**
 * The jobs list: filter by status (chips and a select, both made from the overview's counts, which name
 * every status in the server's order), search, sort, pages, all kept in the URL's query so that a filtered
 * list can be bookmarked. Rows of running jobs follow the overview's stream; a change of the counts (a job
 * started, ended, was submitted) reloads the page of the list. An OPERATOR selects rows and restarts them
 * in bulk: the selection offers the jobs whose `actions` (from the server) hold "restart".
 */
import { api, isOperator } from '../api.js';
import { $, h, badge, confirmAction, optionValues, progress, timeEl, toast } from '../dom.js';
import { replaceQuery } from '../router.js';

const DEFAULTS = { status: '', q: '', sort: 'created', order: 'desc', page: 0, size: 20 };
/** A search runs this long after the last key typed: not one request per letter. */
const SEARCH_DELAY_MILLIS = 300;
/** Counts that change together (a job ends, the next starts) reload the list once. */
const RELOAD_DELAY_MILLIS = 250;

/** What the list shows: the query of GET api/jobs, as in the URL. */
const list = { ...DEFAULTS };
/** The ids of the rows ticked (cleared when the filter changes). */
const selected = new Set();
/** The jobs on the page of the list, by id, as their rows show them. */
const shown = new Map();
/** The overview's jobsByStatus: every status, in the server's order; null until the first overview. */
let counts = null;
/** The statuses the chips and the select were built for. */
let renderedStatuses = '';
/** The number of the newest request for the list: an older answer that arrives later is dropped. */
let listSeq = 0;
let reloadTimer = null;
let searchTimer = null;

const actionsOf = (job) => job.actions || [];

function listQuery() {
  const p = new URLSearchParams();
  if (list.status) p.set('status', list.status);
  if (list.q) p.set('q', list.q);
  p.set('sort', list.sort);
  p.set('order', list.order);
  p.set('page', String(list.page));
  p.set('size', String(list.size));
  return p;
}

/** The list of the URL's query; values the page does not offer fall back to the defaults. */
export function enterJobs(query) {
  const status = query.get('status') || '';
  list.status = !counts || Object.hasOwn(counts, status) ? status : '';
  list.q = query.get('q') || '';
  list.sort = optionValues($('sort')).includes(query.get('sort')) ? query.get('sort') : DEFAULTS.sort;
  list.order = query.get('order') === 'asc' ? 'asc' : 'desc';
  list.page = Math.max(0, parseInt(query.get('page') || '0', 10) || 0);
  list.size = optionValues($('page-size')).includes(query.get('size')) ? parseInt(query.get('size'), 10) : DEFAULTS.size;
  syncFilterControls();
  loadList();
  if (counts) renderStatuses();
}

function setFilter(change) {
  Object.assign(list, change);
  if (!('page' in change)) list.page = 0;
  selected.clear();
  replaceQuery(listQuery());
  syncFilterControls();
  loadList();
  if (counts) renderStatuses();
}

function syncFilterControls() {
  $('filter-status').value = list.status;
  if (document.activeElement !== $('filter-q')) $('filter-q').value = list.q;
  $('sort').value = list.sort;
  $('order').value = list.order;
  $('page-size').value = String(list.size);
}

/** The overview came: counts for the filters, running jobs' rows, and a reload when the counts moved. */
export function overviewForJobs(o) {
  const before = counts;
  counts = o.jobsByStatus;
  renderStatuses();
  for (const job of o.active) updateRow(job);
  if (before && JSON.stringify(before) !== JSON.stringify(counts)) scheduleReload();
}

function renderStatuses() {
  const statuses = Object.keys(counts);
  const box = $('ov-status');
  const select = $('filter-status');
  // built once (the server names every status, always the same); then only their counts and the pressed
  // one change in place: a chip or a select replaced every second would drop the keyboard focus and
  // close an open dropdown
  if (statuses.join() !== renderedStatuses) {
    renderedStatuses = statuses.join();
    box.replaceChildren(...statuses.map((s) => h('button', {
      type: 'button', class: 'chip', dataset: { status: s },
      onclick: () => setFilter({ status: list.status === s ? '' : s }),
    }, badge(s), ' ', h('span', { class: 'count' }))));
    select.replaceChildren(h('option', { value: '' }, 'All'), ...statuses.map((s) => h('option', { value: s })));
  }
  for (const chip of box.children) {
    const s = chip.dataset.status;
    setText(chip.querySelector('.count'), String(counts[s]));
    chip.setAttribute('aria-pressed', String(list.status === s));
  }
  for (const option of select.options) if (option.value) setText(option, option.value + ' (' + counts[option.value] + ')');
  if (select.value !== list.status) select.value = list.status;
  const failed = counts.FAILED || 0;
  setText($('bulk-restart-failed'), 'Restart all failed (' + failed + ')');
  $('bulk-restart-failed').disabled = failed === 0;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Loads the page of the list again (after a change elsewhere, or when the stream came back). */
export async function loadList() {
  const seq = ++listSeq;
  let page;
  try {
    page = await api('api/jobs?' + listQuery().toString());
  } catch (e) {
    if (e.status !== 401) toast('Could not load the jobs: ' + e.message, true);
    return;
  }
  if (seq !== listSeq) return; // a newer request is on its way
  renderList(page);
}

function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadList, RELOAD_DELAY_MILLIS);
}

function renderList(page) {
  shown.clear();
  for (const job of page.items) shown.set(job.id, job);
  $('jobs-body').replaceChildren(...page.items.map(jobRow));
  $('jobs-empty').hidden = page.items.length > 0;
  const pages = Math.max(1, page.totalPages);
  $('page-info').textContent = 'Page ' + (page.page + 1) + ' of ' + pages + ' · ' + page.totalItems + ' job'
    + (page.totalItems === 1 ? '' : 's');
  $('page-prev').disabled = page.page === 0;
  $('page-next').disabled = page.page + 1 >= pages;
  $('select-all').checked = false;
  updateBulkButtons();
}

function jobRow(job) {
  const title = job.name || job.id;
  const cells = [];
  if (isOperator()) {
    const box = h('input', {
      type: 'checkbox', class: 'row-select', 'aria-label': 'Select job ' + title, dataset: { id: job.id },
      onchange: (e) => { if (e.target.checked) selected.add(job.id); else selected.delete(job.id); updateBulkButtons(); },
    });
    box.checked = selected.has(job.id);
    cells.push(h('td', { class: 'sel' }, box));
  }
  cells.push(h('td', { class: 'name' }, h('a', { href: '#/jobs/' + encodeURIComponent(job.id) }, title),
    h('span', { class: 'id' }, job.id), job.error ? h('span', { class: 'err', title: job.error }, job.error) : null));
  cells.push(h('td', { class: 'opt' }, job.operation));
  cells.push(h('td', { class: 'status' }, badge(job.status)));
  cells.push(h('td', { class: 'prog' }, progress(job.percent, job.status, 'progress of ' + title)));
  cells.push(h('td', { class: 'opt' }, timeEl(job.createdAt)));
  cells.push(h('td', { class: 'opt2' }, timeEl(job.updatedAt)));
  return h('tr', {
    id: 'job-row-' + job.id, class: job.status === 'FAILED' ? 'error-row' : '',
    dataset: { id: job.id, status: job.status, actions: actionsOf(job).join(' ') },
  }, ...cells);
}

/** A running job's row follows its progress without reloading the page of the list. */
function updateRow(job) {
  const was = shown.get(job.id);
  const row = document.getElementById('job-row-' + job.id);
  if (!was || !row) return;
  if (was.status === job.status && was.percent === job.percent
    && actionsOf(was).join(' ') === actionsOf(job).join(' ')) return;
  shown.set(job.id, job);
  row.replaceWith(jobRow(job));
  updateBulkButtons();
}

/** The ticked rows the server lets this user restart now. */
function restartable() {
  return [...selected].filter((id) => shown.has(id) && actionsOf(shown.get(id)).includes('restart'));
}

function updateBulkButtons() {
  const ids = restartable();
  $('bulk-restart-selected').disabled = ids.length === 0;
  $('bulk-restart-selected').textContent = 'Restart selected' + (ids.length ? ' (' + ids.length + ')' : '');
}

async function bulkRestart(body, what) {
  if (!(await confirmAction('Restart ' + what + '?', 'Each job goes to the end of the queue and continues where it '
    + 'stopped.', 'Restart'))) return;
  try {
    const result = await api('api/jobs/bulk-restart', { method: 'POST', json: body });
    const refused = result.results.filter((r) => !r.restarted);
    toast('Restarted ' + result.restarted + ' of ' + result.requested
      + (refused.length ? '; not restarted: ' + refused.slice(0, 3).map((r) => r.id + ' (' + r.detail + ')').join('; ') : ''),
    refused.length > 0);
    selected.clear();
    loadList();
  } catch (e) {
    toast('Restart failed: ' + e.message, true);
  }
}

export function wireJobs() {
  // Enter in the search field would send the form (a page load): the list follows as one types instead
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('filter-status').addEventListener('change', (e) => setFilter({ status: e.target.value }));
  $('filter-q').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setFilter({ q: e.target.value.trim() }), SEARCH_DELAY_MILLIS);
  });
  $('sort').addEventListener('change', (e) => setFilter({ sort: e.target.value }));
  $('order').addEventListener('change', (e) => setFilter({ order: e.target.value }));
  $('page-size').addEventListener('change', (e) => setFilter({ size: parseInt(e.target.value, 10) }));
  $('page-prev').addEventListener('click', () => setFilter({ page: Math.max(0, list.page - 1) }));
  $('page-next').addEventListener('click', () => setFilter({ page: list.page + 1 }));
  $('select-all').addEventListener('change', (e) => {
    for (const box of document.querySelectorAll('.row-select')) {
      box.checked = e.target.checked;
      if (box.checked) selected.add(box.dataset.id); else selected.delete(box.dataset.id);
    }
    updateBulkButtons();
  });
  $('bulk-restart-selected').addEventListener('click', () => {
    const ids = restartable();
    if (ids.length) bulkRestart({ ids }, ids.length + ' selected job' + (ids.length === 1 ? '' : 's'));
  });
  $('bulk-restart-failed').addEventListener('click', () => bulkRestart({ status: 'FAILED' },
    'all ' + ((counts && counts.FAILED) || 0) + ' failed jobs'));
}
