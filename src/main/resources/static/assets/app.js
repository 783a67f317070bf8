/*
 * ringbatch dashboard: plain JavaScript over the REST API (no build step).
 * Live data comes from two server-sent event streams: /api/overview/events (the whole service, every
 * second) and /api/jobs/{id}/events (the job on screen). When a stream drops (the service restarts) the
 * page says so, reconnects by itself and reloads what it shows; a session that is gone is renewed by the
 * "stay signed in" cookie, and the CSRF token is fetched again. Everything the user typed is built into
 * the page with textContent, never as HTML.
 */
(() => {
  'use strict';

  const STATUSES = ['QUEUED', 'STARTING', 'STARTED', 'STOPPING', 'STOPPED', 'COMPLETED', 'FAILED', 'ABANDONED', 'UNKNOWN'];
  const ACTIVE = ['STARTING', 'STARTED', 'STOPPING'];
  const ENDED = ['STOPPED', 'COMPLETED', 'FAILED', 'ABANDONED'];

  const state = {
    me: null,
    operations: [],
    overview: null,
    list: { status: '', q: '', sort: 'created', order: 'desc', page: 0, size: 20 },
    listPage: null,
    counts: null,
    selected: new Set(),
    job: null,
    jobId: null,
    jobThroughputAt: 0,
    overviewStream: null,
    jobStream: null,
    charts: {},
    connected: false,
    submitKey: null,
  };

  // ---- little helpers -------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children (strings become text nodes). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.substring(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function bytes(n) {
    if (n === null || n === undefined) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[i];
  }

  const rate = (n) => (n === null || n === undefined ? '–' : bytes(n) + '/s');

  function duration(s) {
    if (s === null || s === undefined) return '–';
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + Math.round(s % 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }

  function when(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    return d.toLocaleString();
  }

  function timeEl(iso) {
    return iso ? h('time', { datetime: iso, title: iso }, when(iso)) : '–';
  }

  function toast(message, error) {
    const t = $('toast');
    t.textContent = message;
    t.className = 'toast' + (error ? ' error' : '');
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, error ? 9000 : 5000);
  }

  function badge(status) {
    return h('span', { class: 'badge ' + status, dataset: { status } }, status);
  }

  function progress(percent, status, label) {
    if (percent === null || percent === undefined) return h('span', { class: 'muted' }, '–');
    const bar = h('div', {
      class: 'bar' + (status === 'COMPLETED' ? ' done' : '') + (status === 'FAILED' ? ' failed' : ''),
      role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(percent),
      'aria-label': label || 'progress',
    }, h('span', { style: 'width:' + Math.max(0, Math.min(100, percent)) + '%' }));
    return h('div', { class: 'progress', dataset: { percent: String(percent) } }, bar,
      h('span', { class: 'pct' }, percent.toFixed(1) + ' %'));
  }

  function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = h('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---- the API --------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
      this.status = status;
      this.problem = problem;
    }
  }

  function toLogin() {
    try { sessionStorage.setItem('ringbatch.return', location.hash); } catch (e) { /* private mode */ }
    location.href = 'login';
  }

  async function api(path, options = {}) {
    const method = options.method || 'GET';
    const headers = { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json, application/problem+json' };
    Object.assign(headers, options.headers || {});
    let body;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    if (method !== 'GET' && state.me && state.me.csrf) headers[state.me.csrf.headerName] = state.me.csrf.token;
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
      // maybe a stale CSRF token (a new session after a restart): fetch it again and try once more
      await loadMe();
      if (state.me && state.me.operator) return api(path, Object.assign({}, options, { retried: true }));
    }
    const type = response.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await response.json() : await response.text();
    if (!response.ok) throw new ApiError(response.status, typeof data === 'object' ? data : { detail: data });
    return data;
  }

  async function loadMe() {
    state.me = await api('api/me');
    $('who').textContent = state.me.name + ' · ' + (state.me.operator ? 'operator' : 'viewer');
    $('logout-csrf').name = state.me.csrf ? state.me.csrf.parameterName : '_csrf';
    $('logout-csrf').value = state.me.csrf ? state.me.csrf.token : '';
    document.body.classList.toggle('is-operator', state.me.operator);
    for (const el of document.querySelectorAll('.operator-only')) el.hidden = !state.me.operator;
  }

  // ---- live streams ---------------------------------------------------------------------------------

  function setConnection(status, text) {
    const c = $('conn');
    c.className = 'conn ' + status;
    c.textContent = text;
    c.dataset.state = status;
  }

  /**
   * An EventSource that comes back by itself: the browser retries a dropped stream, and one that the
   * server refused (401 after a restart without a session, 503) is opened again here after a pause.
   */
  function stream(url, handlers, onOpen) {
    const s = { closed: false, source: null, failures: 0 };
    const open = () => {
      if (s.closed) return;
      const source = new EventSource(url);
      s.source = source;
      source.onopen = () => { s.failures = 0; onOpen && onOpen(); };
      for (const [event, fn] of Object.entries(handlers)) {
        source.addEventListener(event, (e) => fn(JSON.parse(e.data)));
      }
      source.onerror = () => {
        if (s.closed) return;
        if (url.includes('/overview/')) setConnection('reconnecting', 'reconnecting…');
        if (source.readyState === EventSource.CLOSED) {
          s.failures++;
          setTimeout(async () => {
            if (s.closed) return;
            try {
              await loadMe(); // 401: off to the login form; else the session is back
            } catch (e) {
              if (e.status === 401) return;
            }
            open();
          }, Math.min(10000, 1000 * s.failures));
        }
      };
    };
    s.close = () => { s.closed = true; if (s.source) s.source.close(); };
    open();
    return s;
  }

  function startOverviewStream() {
    state.overviewStream = stream('api/overview/events', { overview: onOverview }, async () => {
      const wasDown = state.connected === false && state.everConnected;
      state.connected = true;
      state.everConnected = true;
      setConnection('live', 'live');
      if (wasDown) await resync();
    });
    // a dropped stream: remember, so that the next open reloads everything
    setInterval(() => {
      const src = state.overviewStream && state.overviewStream.source;
      if (src && src.readyState !== EventSource.OPEN) state.connected = false;
    }, 500);
  }

  /** After the stream was down: the session, the overview with its history, the list, the job. */
  async function resync() {
    try {
      await loadMe();
      const overview = await api('api/overview');
      renderOverview(overview, true);
      await loadList();
      if (state.jobId) openJob(state.jobId, true);
    } catch (e) {
      /* the next event tries again */
    }
  }

  // ---- overview -------------------------------------------------------------------------------------

  function onOverview(o) {
    renderOverview(o, false);
  }

  function renderOverview(o, full) {
    const before = state.counts;
    state.overview = o;
    state.counts = o.jobsByStatus;
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
    $('f-root-hint').textContent = 'inside ' + o.inputRoots.join(' or ') + '; output goes under ' + o.outputRoot;
    if (!$('f-root').value && !$('f-root').dataset.touched) $('f-root').placeholder = o.inputRoots[0] + '/…';

    renderStatusChips(o.jobsByStatus);
    chartOverview(o.history, full);

    // rows of running jobs follow along; a change of counts (a job started, ended, was submitted) reloads
    for (const job of o.active) updateRow(job);
    if (before && JSON.stringify(before) !== JSON.stringify(o.jobsByStatus)) scheduleListReload();
  }

  function renderStatusChips(counts) {
    // rebuilt only when something changed: a select or a chip replaced every second would close an open
    // dropdown and drop the keyboard focus
    const key = JSON.stringify(counts) + '|' + state.list.status;
    if (key === state.renderedStatus) return;
    state.renderedStatus = key;
    const box = $('ov-status');
    box.replaceChildren(...STATUSES.filter((s) => counts[s] > 0 || ['STARTED', 'QUEUED', 'FAILED', 'COMPLETED'].includes(s))
      .map((s) => h('button', {
        type: 'button', class: 'chip', dataset: { status: s }, 'aria-pressed': String(state.list.status === s),
        onclick: () => setFilter({ status: state.list.status === s ? '' : s }),
      }, badge(s), ' ', String(counts[s] || 0))));
    const select = $('filter-status');
    const current = state.list.status;
    select.replaceChildren(h('option', { value: '' }, 'All'),
      ...STATUSES.map((s) => h('option', { value: s }, s + ' (' + (counts[s] || 0) + ')')));
    select.value = current;
    const failed = counts.FAILED || 0;
    $('bulk-restart-failed').textContent = 'Restart all failed (' + failed + ')';
    $('bulk-restart-failed').disabled = failed === 0;
  }

  // ---- charts ---------------------------------------------------------------------------------------

  function chartSeries() {
    return [
      {},
      { label: 'MiB/s', stroke: '#1f5fbf', width: 2, fill: 'rgba(31,95,191,0.10)', scale: 'mib',
        value: (u, v) => (v === null || v === undefined ? '–' : v.toFixed(1)) },
      { label: 'workers computing', stroke: '#0b6b34', width: 1.5, scale: 'workers',
        value: (u, v) => (v === null || v === undefined ? '–' : v.toFixed(2)) },
      { label: 'workers waiting for I/O', stroke: '#c77700', width: 1.5, scale: 'workers',
        value: (u, v) => (v === null || v === undefined ? '–' : v.toFixed(2)) },
    ];
  }

  function makeChart(key, container, data) {
    if (typeof uPlot === 'undefined') return null;
    const width = Math.max(280, container.clientWidth || 600);
    const options = {
      width, height: 220,
      series: chartSeries(),
      scales: { x: { time: true, range: (u, min, max) => (max - min < 10 ? [min - 5, max + 5] : [min, max]) }, mib: { auto: true, range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
        workers: { auto: true, range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{}, { scale: 'mib', label: 'MiB/s' }, { scale: 'workers', side: 1, label: 'workers', grid: { show: false } }],
      legend: { live: true },
    };
    container.replaceChildren();
    const chart = new uPlot(options, data, container);
    state.charts[key] = chart;
    return chart;
  }

  function samplesToData(samples, pick) {
    const xs = [], mib = [], busy = [], wait = [];
    for (const s of samples) {
      xs.push(s.t / 1000);
      mib.push(s.bytesPerSecond / 1048576);
      busy.push(s.workersBusy);
      wait.push(s.workersWaiting);
    }
    return [xs, mib, busy, wait];
  }

  function chartOverview(samples, full) {
    const container = $('overview-chart');
    let chart = state.charts.overview;
    if (!chart || full) {
      state.overviewSamples = samples.slice();
    } else {
      const last = state.overviewSamples[state.overviewSamples.length - 1];
      for (const s of samples) if (!last || s.t > last.t) state.overviewSamples.push(s);
      while (state.overviewSamples.length > 600) state.overviewSamples.shift();
    }
    const data = samplesToData(state.overviewSamples);
    if (!chart) makeChart('overview', container, data);
    else chart.setData(data);
    container.dataset.points = String(state.overviewSamples.length);
  }

  window.addEventListener('resize', () => {
    clearTimeout(window.__rbResize);
    window.__rbResize = setTimeout(() => {
      for (const [key, chart] of Object.entries(state.charts)) {
        const container = key === 'overview' ? $('overview-chart') : $('job-chart');
        if (container.clientWidth) chart.setSize({ width: container.clientWidth, height: 220 });
      }
    }, 150);
  });

  // ---- the jobs table -------------------------------------------------------------------------------

  function listQuery() {
    const l = state.list;
    const p = new URLSearchParams();
    if (l.status) p.set('status', l.status);
    if (l.q) p.set('q', l.q);
    p.set('sort', l.sort);
    p.set('order', l.order);
    p.set('page', String(l.page));
    p.set('size', String(l.size));
    return p;
  }

  function setFilter(change) {
    Object.assign(state.list, change);
    if (!('page' in change)) state.list.page = 0;
    state.selected.clear();
    const p = listQuery();
    history.replaceState(null, '', '#/?' + p.toString());
    syncFilterControls();
    loadList();
    if (state.counts) renderStatusChips(state.counts);
  }

  function syncFilterControls() {
    $('filter-status').value = state.list.status;
    if (document.activeElement !== $('filter-q')) $('filter-q').value = state.list.q;
    $('sort').value = state.list.sort;
    $('order').value = state.list.order;
    $('page-size').value = String(state.list.size);
  }

  let listSeq = 0;
  async function loadList() {
    const seq = ++listSeq;
    let page;
    try {
      page = await api('api/jobs?' + listQuery().toString());
    } catch (e) {
      if (e.status !== 401) toast('Could not load the jobs: ' + e.message, true);
      return;
    }
    if (seq !== listSeq) return; // a newer request is on its way
    state.listPage = page;
    renderList(page);
  }

  let reloadTimer = null;
  function scheduleListReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(loadList, 250);
  }

  function renderList(page) {
    const body = $('jobs-body');
    const operator = state.me && state.me.operator;
    body.replaceChildren(...page.items.map((job) => jobRow(job, operator)));
    $('jobs-empty').hidden = page.items.length > 0;
    const pages = Math.max(1, page.totalPages);
    $('page-info').textContent = 'Page ' + (page.page + 1) + ' of ' + pages + ' · ' + page.totalItems + ' job'
      + (page.totalItems === 1 ? '' : 's');
    $('page-prev').disabled = page.page === 0;
    $('page-next').disabled = page.page + 1 >= pages;
    $('select-all').checked = false;
    updateBulkButtons();
  }

  function jobRow(job, operator) {
    const link = h('a', { href: '#/jobs/' + encodeURIComponent(job.id) }, job.name || job.id);
    const cells = [];
    if (operator) {
      const box = h('input', {
        type: 'checkbox', class: 'row-select', 'aria-label': 'Select job ' + (job.name || job.id),
        dataset: { id: job.id, status: job.status },
        onchange: (e) => { if (e.target.checked) state.selected.add(job.id); else state.selected.delete(job.id); updateBulkButtons(); },
      });
      box.checked = state.selected.has(job.id);
      cells.push(h('td', { class: 'sel' }, box));
    }
    cells.push(h('td', { class: 'name' }, link, h('span', { class: 'id' }, job.id),
      job.error ? h('span', { class: 'err', title: job.error }, job.error) : null));
    cells.push(h('td', { class: 'opt' }, job.operation));
    cells.push(h('td', { class: 'status' }, badge(job.status)));
    cells.push(h('td', { class: 'prog' }, progress(job.percent, job.status, 'progress of ' + (job.name || job.id))));
    cells.push(h('td', { class: 'opt' }, timeEl(job.createdAt)));
    cells.push(h('td', { class: 'opt2' }, timeEl(job.updatedAt)));
    return h('tr', { id: 'job-row-' + job.id, class: job.status === 'FAILED' ? 'error-row' : '', dataset: { id: job.id, status: job.status } },
      ...cells);
  }

  /** A running job's row follows its progress without reloading the page of the list. */
  function updateRow(job) {
    const row = document.getElementById('job-row-' + job.id);
    if (!row) return;
    if (row.dataset.status === job.status && row.querySelector('.prog .progress')
      && row.querySelector('.prog .progress').dataset.percent === String(job.percent)) return;
    row.replaceWith(jobRow(job, state.me && state.me.operator));
  }

  function updateBulkButtons() {
    const restartable = [...state.selected].filter((id) => {
      const row = document.getElementById('job-row-' + id);
      return row && ['FAILED', 'STOPPED'].includes(row.dataset.status);
    });
    $('bulk-restart-selected').disabled = restartable.length === 0;
    $('bulk-restart-selected').textContent = 'Restart selected' + (restartable.length ? ' (' + restartable.length + ')' : '');
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
      state.selected.clear();
      loadList();
    } catch (e) {
      toast('Restart failed: ' + e.message, true);
    }
  }

  // ---- confirmation ---------------------------------------------------------------------------------

  function confirmAction(title, text, ok) {
    const dialog = $('confirm');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = ok || 'OK';
    return new Promise((resolve) => {
      const done = () => { dialog.removeEventListener('close', done); resolve(dialog.returnValue === 'ok'); };
      dialog.returnValue = '';
      dialog.addEventListener('close', done);
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  // ---- one job --------------------------------------------------------------------------------------

  function openJob(id, again) {
    if (state.jobStream) state.jobStream.close();
    if (!again || state.jobId !== id) {
      state.job = null;
      if (state.charts.job) { state.charts.job.destroy(); delete state.charts.job; }
    }
    state.jobId = id;
    state.jobThroughputAt = 0;
    const onView = (view) => {
      renderJob(view);
      if (ENDED.includes(view.status) && state.jobStream) state.jobStream.close(); // else the browser reconnects
    };
    state.jobStream = stream('api/jobs/' + encodeURIComponent(id) + '/events', { job: onView, end: onView });
  }

  function closeJob() {
    if (state.jobStream) state.jobStream.close();
    state.jobStream = null;
    state.jobId = null;
    state.job = null;
    if (state.charts.job) { state.charts.job.destroy(); delete state.charts.job; }
  }

  function fact(label, value, id) {
    return h('div', { id }, h('dt', {}, label), h('dd', {}, value));
  }

  function renderJob(v) {
    state.job = v;
    const operator = state.me && state.me.operator;
    $('job-title').textContent = v.name || v.id;
    const status = $('job-status');
    status.className = 'badge ' + v.status;
    status.textContent = v.status;
    status.dataset.status = v.status;
    $('job-sub').textContent = v.operation + ' · ' + v.id + (v.phase ? ' · ' + v.phase : '')
      + (v.queuePosition !== null && v.queuePosition !== undefined ? ' · ' + v.queuePosition + ' queued before it' : '');
    if (operator) {
      $('job-stop').hidden = !(v.status === 'QUEUED' || v.status === 'STARTING' || v.status === 'STARTED');
      $('job-restart').hidden = !['STOPPED', 'FAILED'].includes(v.status);
      $('job-abandon').hidden = !['QUEUED', 'STOPPED', 'FAILED', 'UNKNOWN'].includes(v.status);
    }

    const p = v.progress;
    const bar = $('job-bar');
    bar.setAttribute('aria-valuenow', String(p.percent));
    bar.dataset.percent = String(p.percent);
    bar.className = 'bar big' + (v.status === 'COMPLETED' ? ' done' : '') + (v.status === 'FAILED' ? ' failed' : '');
    bar.firstElementChild.style.width = p.percent + '%';
    const t = v.timings;
    $('job-facts').replaceChildren(
      fact('Done', p.percent.toFixed(1) + ' %', 'fact-percent'),
      fact('Files', p.filesDone + ' of ' + p.filesTotal, 'fact-files'),
      fact('Bytes', bytes(p.bytesDone) + ' of ' + bytes(p.bytesTotal), 'fact-bytes'),
      fact('Throughput', rate(p.bytesPerSecond), 'fact-rate'),
      fact('Time left', ACTIVE.includes(v.status) ? duration(p.etaSeconds) : '–', 'fact-eta'),
      fact('Run time', duration(t.runSeconds), 'fact-run'),
      fact('Queued for', duration(t.queuedSeconds), 'fact-queued'),
      fact('I/O engine', v.engine || '–', 'fact-engine'),
      fact('Instance', v.instance || '–', 'fact-instance'),
      fact('Started', timeEl(v.startedAt), 'fact-started'),
      fact('Ended', timeEl(v.endedAt), 'fact-ended'),
    );

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

    const err = $('job-error');
    err.hidden = !v.error;
    if (v.error) {
      $('job-error-message').textContent = v.error.message;
      $('job-error-detail').textContent = v.error.detail || '(no further detail)';
    }

    $('job-partitions').tBodies[0].replaceChildren(...v.partitions.map((pt) => h('tr', {},
      h('td', {}, String(pt.index)), h('td', {}, badge(pt.status || 'QUEUED')), h('td', { class: 'opt' }, String(pt.files)),
      h('td', {}, progress(pt.percent, pt.status, 'partition ' + pt.index)),
      h('td', { class: 'opt' }, bytes(pt.bytesDone) + ' / ' + bytes(pt.bytesTotal)),
      h('td', { class: 'num' }, pt.waitSeconds.toFixed(2)), h('td', { class: 'num' }, pt.busySeconds.toFixed(2)))));
    $('job-partitions-empty').hidden = v.partitions.length > 0;

    $('job-executions').tBodies[0].replaceChildren(...v.executions.map((e) => h('tr', {},
      h('td', {}, String(e.id)), h('td', {}, badge(e.status)), h('td', {}, timeEl(e.startedAt)),
      h('td', { class: 'opt' }, timeEl(e.endedAt)),
      h('td', { class: 'opt' }, (e.exitCode || '') + (e.exitDescription ? ': ' + e.exitDescription : '')))));

    const out = v.output;
    $('job-output-path').textContent = out ? out.path + (out.exists ? '' : ' (results appear when the job completes)') : '';
    const files = (out ? out.files : []).map((f) => h('li', {},
      h('a', { href: 'api/jobs/' + encodeURIComponent(v.id) + '/output/' + f.name.split('/').map(encodeURIComponent).join('/'),
        download: f.name.split('/').pop(), class: 'output-file' }, f.name), ' ', h('span', { class: 'muted' }, bytes(f.size))));
    if (out && out.truncated) files.push(h('li', { class: 'muted' }, 'more files: see api/jobs/' + v.id + '/output'));
    $('job-output').replaceChildren(...files);

    $('job-spec').textContent = JSON.stringify(v.spec, null, 2);
    $('job-definition').textContent = JSON.stringify(v.definition, null, 2);

    const now = Date.now();
    if (!state.charts.job || (ACTIVE.includes(v.status) && now - state.jobThroughputAt > 2000) || ENDED.includes(v.status)) {
      state.jobThroughputAt = now;
      loadJobThroughput(v.id);
    }
  }

  async function loadJobThroughput(id) {
    let points;
    try {
      points = await api('api/jobs/' + encodeURIComponent(id) + '/throughput');
    } catch (e) {
      return;
    }
    if (state.jobId !== id) return;
    const container = $('job-chart');
    $('job-chart-empty').hidden = points.length > 0;
    container.dataset.points = String(points.length);
    const data = samplesToData(points);
    if (!state.charts.job) makeChart('job', container, data);
    else state.charts.job.setData(data);
  }

  async function steer(action, title, text, ok) {
    const v = state.job;
    if (!v || !(await confirmAction(title, text, ok))) return;
    try {
      const view = await api('api/jobs/' + encodeURIComponent(v.id) + '/' + action, { method: 'POST' });
      renderJob(view);
      toast('Job ' + (v.name || v.id) + ': ' + view.status);
      if (action === 'restart' && state.jobId === v.id) openJob(v.id, true);
    } catch (e) {
      toast('Could not ' + action + ' the job: ' + e.message, true);
    }
  }

  // ---- submit ---------------------------------------------------------------------------------------

  async function loadOperations() {
    if (state.operations.length) return;
    state.operations = await api('api/operations');
    const select = $('f-operation');
    select.replaceChildren(...state.operations.map((op) => h('option', { value: op.name }, op.name)));
    renderParams();
  }

  function renderParams() {
    const op = state.operations.find((o) => o.name === $('f-operation').value);
    $('f-operation-description').textContent = op ? op.description : '';
    const body = $('f-params-body');
    if (!op || !op.parameters.length) {
      body.replaceChildren(h('p', { class: 'muted' }, 'This operation takes no parameters.'));
      return;
    }
    body.replaceChildren(...op.parameters.map((p) => {
      const id = 'p-' + p.name;
      const field = 'params.' + p.name;
      let input;
      if (p.type === 'boolean') {
        input = h('input', { type: 'checkbox', id, name: field, dataset: { param: p.name, type: p.type } });
        input.checked = p.defaultValue === 'true';
      } else if (p.type === 'enum') {
        input = h('select', { id, name: field, dataset: { param: p.name, type: p.type } },
          ...(p.required ? [] : [h('option', { value: '' }, p.defaultValue ? '(default: ' + p.defaultValue + ')' : '(none)')]),
          ...p.allowed.map((a) => h('option', { value: a }, a)));
      } else {
        input = h('input', {
          id, name: field, type: 'text', inputmode: p.type === 'integer' ? 'numeric' : null, autocomplete: 'off',
          placeholder: p.defaultValue ? 'default: ' + p.defaultValue : '', dataset: { param: p.name, type: p.type },
          'aria-describedby': id + '-hint',
        });
      }
      const range = p.type === 'integer' && p.allowed.length === 2 ? ' (' + p.allowed[0] + ' to ' + p.allowed[1] + ')' : '';
      const label = h('label', { for: id }, p.name, p.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null,
        h('span', { class: 'muted' }, ' · ' + p.type + range));
      const hint = h('p', { class: 'hint', id: id + '-hint' }, p.description || '');
      const error = h('p', { class: 'field-error', id: 'err-' + field, dataset: { field }, hidden: true });
      if (p.type === 'boolean') {
        return h('div', { class: 'field' }, h('label', { class: 'check', for: id }, input, ' ' + p.name), hint, error);
      }
      return h('div', { class: 'field' }, label, input, hint, error);
    }));
  }

  function openSubmit() {
    state.submitKey = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
    clearErrors();
    loadOperations().catch((e) => toast('Could not load the operations: ' + e.message, true));
    setTimeout(() => $('f-name').focus(), 0);
  }

  function clearErrors() {
    $('form-error').hidden = true;
    for (const el of document.querySelectorAll('#submit-form .field-error')) { el.hidden = true; el.textContent = ''; }
    for (const el of document.querySelectorAll('#submit-form [aria-invalid]')) el.removeAttribute('aria-invalid');
  }

  function lines(text) {
    return text.split('\n').map((s) => s.trim()).filter((s) => s.length > 0);
  }

  function buildRequest() {
    const request = { operation: $('f-operation').value, input: { root: $('f-root').value.trim() } };
    const name = $('f-name').value.trim();
    if (name) request.name = name;
    const params = {};
    for (const input of document.querySelectorAll('#f-params-body [data-param]')) {
      const p = input.dataset.param;
      if (input.dataset.type === 'boolean') params[p] = input.checked;
      else if (input.value === '') continue;
      else if (input.dataset.type === 'integer' && /^-?\d+$/.test(input.value.trim())) params[p] = Number(input.value.trim());
      else params[p] = input.value; // the server says what is wrong with it
    }
    if (Object.keys(params).length) request.params = params;
    const include = lines($('f-include').value);
    const exclude = lines($('f-exclude').value);
    if (include.length) request.input.include = include;
    if (exclude.length) request.input.exclude = exclude;
    const output = $('f-output').value.trim();
    if (output) request.output = { path: output };
    if ($('f-skip').checked) request.options = { skipUnreadable: true };
    return request;
  }

  /** Each of the server's errors next to its field: input.include[2] goes to input.include. */
  function showErrors(problem) {
    const errors = (problem && problem.errors) || [];
    const unplaced = [];
    let first = null;
    for (const e of errors) {
      const field = (e.field || '').replace(/\[\d+\]$/, '');
      const el = document.getElementById('err-' + field);
      if (!el) { unplaced.push((e.field ? e.field + ': ' : '') + e.reason); continue; }
      el.textContent = (el.textContent ? el.textContent + ' · ' : '') + (e.field !== field ? e.field + ' ' : '') + e.reason;
      el.hidden = false;
      const input = document.querySelector('#submit-form [name="' + CSS.escape(field) + '"]');
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-errormessage', el.id);
        first = first || input;
      }
    }
    if (unplaced.length || !errors.length) {
      const box = $('form-error');
      box.replaceChildren(h('strong', {}, (problem && problem.detail) || 'The job was not accepted.'),
        unplaced.length ? h('ul', {}, ...unplaced.map((u) => h('li', {}, u))) : null);
      box.hidden = false;
      first = first || box;
    }
    if (first && first.focus) first.focus();
  }

  async function submitJob(event) {
    event.preventDefault();
    clearErrors();
    const button = $('f-submit');
    button.disabled = true;
    try {
      const job = await api('api/jobs', { method: 'POST', json: buildRequest(), headers: { 'Idempotency-Key': state.submitKey } });
      toast('Job ' + (job.name || job.id) + ' submitted');
      $('submit-form').reset();
      renderParams();
      location.hash = '#/jobs/' + encodeURIComponent(job.id);
    } catch (e) {
      if (e.status === 422) state.submitKey = crypto.randomUUID ? crypto.randomUUID() : String(Math.random());
      showErrors(e.problem);
    } finally {
      button.disabled = false;
    }
  }

  // ---- routing --------------------------------------------------------------------------------------

  function show(view) {
    for (const v of ['view-home', 'view-job', 'view-submit']) $(v).hidden = v !== view;
  }

  function route() {
    const hash = location.hash || '#/';
    const job = hash.match(/^#\/jobs\/([^/?]+)/);
    if (job) {
      show('view-job');
      const id = decodeURIComponent(job[1]);
      if (state.jobId !== id) openJob(id);
      document.title = 'Job ' + id + ' · ringbatch';
      return;
    }
    closeJob();
    if (hash.startsWith('#/submit')) {
      if (!state.me || !state.me.operator) { location.hash = '#/'; return; }
      show('view-submit');
      document.title = 'Submit a job · ringbatch';
      openSubmit();
      return;
    }
    show('view-home');
    document.title = 'ringbatch';
    const query = hash.indexOf('?') >= 0 ? new URLSearchParams(hash.substring(hash.indexOf('?') + 1)) : new URLSearchParams();
    const l = state.list;
    l.status = STATUSES.includes(query.get('status')) ? query.get('status') : '';
    l.q = query.get('q') || '';
    l.sort = ['created', 'updated', 'name', 'operation', 'status'].includes(query.get('sort')) ? query.get('sort') : 'created';
    l.order = query.get('order') === 'asc' ? 'asc' : 'desc';
    l.page = Math.max(0, parseInt(query.get('page') || '0', 10) || 0);
    l.size = [20, 50, 100].includes(parseInt(query.get('size'), 10)) ? parseInt(query.get('size'), 10) : 20;
    syncFilterControls();
    loadList();
    // the chart was drawn while hidden: give it its width
    const chart = state.charts.overview;
    if (chart && $('overview-chart').clientWidth) chart.setSize({ width: $('overview-chart').clientWidth, height: 220 });
  }

  // ---- wiring ---------------------------------------------------------------------------------------

  function wire() {
    $('filter-status').addEventListener('change', (e) => setFilter({ status: e.target.value }));
    let searchTimer = null;
    $('filter-q').addEventListener('input', (e) => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => setFilter({ q: e.target.value.trim() }), 300);
    });
    $('sort').addEventListener('change', (e) => setFilter({ sort: e.target.value }));
    $('order').addEventListener('change', (e) => setFilter({ order: e.target.value }));
    $('page-size').addEventListener('change', (e) => setFilter({ size: parseInt(e.target.value, 10) }));
    $('page-prev').addEventListener('click', () => setFilter({ page: Math.max(0, state.list.page - 1) }));
    $('page-next').addEventListener('click', () => setFilter({ page: state.list.page + 1 }));
    $('select-all').addEventListener('change', (e) => {
      for (const box of document.querySelectorAll('.row-select')) {
        box.checked = e.target.checked;
        if (box.checked) state.selected.add(box.dataset.id); else state.selected.delete(box.dataset.id);
      }
      updateBulkButtons();
    });
    $('bulk-restart-selected').addEventListener('click', () => {
      const ids = [...state.selected].filter((id) => {
        const row = document.getElementById('job-row-' + id);
        return row && ['FAILED', 'STOPPED'].includes(row.dataset.status);
      });
      if (ids.length) bulkRestart({ ids }, ids.length + ' selected job' + (ids.length === 1 ? '' : 's'));
    });
    $('bulk-restart-failed').addEventListener('click', () => bulkRestart({ status: 'FAILED' },
      'all ' + ((state.counts && state.counts.FAILED) || 0) + ' failed jobs'));
    $('job-stop').addEventListener('click', () => steer('stop', 'Stop this job?',
      'A running job stops at its next commit and can be restarted from there; a queued job leaves the queue.', 'Stop'));
    $('job-restart').addEventListener('click', () => steer('restart', 'Restart this job?',
      'It goes to the end of the queue and continues where it stopped.', 'Restart'));
    $('job-abandon').addEventListener('click', () => steer('abandon', 'Abandon this job?',
      'It will never run again; its committed work is kept but not finished.', 'Abandon'));
    $('job-download').addEventListener('click', () => {
      if (state.job) download('job-' + state.job.id + '.json', 'application/json', JSON.stringify(state.job, null, 2));
    });
    $('job-error-download').addEventListener('click', () => {
      const v = state.job;
      if (!v || !v.error) return;
      const text = ['job ' + v.id + (v.name ? ' (' + v.name + ')' : '') + ': ' + v.status, '', v.error.message, '',
        v.error.detail || '', '', 'executions:',
        ...v.executions.map((e) => '  ' + e.id + ' ' + e.status + ' ' + (e.startedAt || '') + ' .. ' + (e.endedAt || '')
          + ' ' + (e.exitCode || '') + (e.exitDescription ? ': ' + e.exitDescription : ''))].join('\n');
      download('job-' + v.id + '-error.txt', 'text/plain', text + '\n');
    });
    $('f-operation').addEventListener('change', renderParams);
    $('f-root').addEventListener('input', () => { $('f-root').dataset.touched = '1'; });
    $('submit-form').addEventListener('submit', submitJob);
    window.addEventListener('hashchange', route);
  }

  async function boot() {
    wire();
    try {
      await loadMe();
    } catch (e) {
      if (e.status !== 401) setConnection('reconnecting', 'the service cannot be reached');
      if (e.status === 401) return;
    }
    let back = null;
    try { back = sessionStorage.getItem('ringbatch.return'); sessionStorage.removeItem('ringbatch.return'); } catch (e) { /* */ }
    if (back && (!location.hash || location.hash === '#/')) history.replaceState(null, '', back);
    try {
      renderOverview(await api('api/overview'), true);
    } catch (e) { /* the stream brings it */ }
    route();
    startOverviewStream();
    window.ringbatchDashboard = { state, ready: true };
  }

  boot();
})();
