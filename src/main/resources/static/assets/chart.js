/**
 * Throughput charts with uPlot (a WebJar, loaded before the modules as the global uPlot): MiB/s on the
 * left axis, workers computing and waiting for I/O on the right. Without uPlot the page works, chartless.
 */

const HEIGHT = 220;

/** The charts on the page by name, each with the element it fills (for resizing). */
const charts = new Map();

function series() {
  const show = (digits) => (u, v) => (v === null || v === undefined ? '–' : v.toFixed(digits));
  return [
    {},
    { label: 'MiB/s', stroke: '#1f5fbf', width: 2, fill: 'rgba(31,95,191,0.10)', scale: 'mib', value: show(1) },
    { label: 'workers computing', stroke: '#0b6b34', width: 1.5, scale: 'workers', value: show(2) },
    { label: 'workers waiting for I/O', stroke: '#c77700', width: 1.5, scale: 'workers', value: show(2) },
  ];
}

/** Samples ({t in ms, bytesPerSecond, workersBusy, workersWaiting}) as uPlot's columns. */
export function samplesToData(samples) {
  const xs = [], mib = [], busy = [], wait = [];
  for (const s of samples) {
    xs.push(s.t / 1000);
    mib.push(s.bytesPerSecond / 1048576);
    busy.push(s.workersBusy);
    wait.push(s.workersWaiting);
  }
  return [xs, mib, busy, wait];
}

/**
 * The time axis: a few seconds around one sample or a short run of them. uPlot itself widens a single
 * sample's axis by 86400 / ms, which with seconds for time (ms = 1e-3) is 2.7 years.
 */
function timeRange(u, min, max) {
  const xs = u.data[0];
  if (xs && xs.length === 1) return [xs[0] - 5, xs[0] + 5];
  return max - min < 10 ? [min - 5, max + 5] : [min, max];
}

/** Draws the data in the named chart, making it in container the first time. */
export function draw(name, container, data) {
  const known = charts.get(name);
  if (known) {
    known.chart.setData(data);
    return;
  }
  if (typeof uPlot === 'undefined') return;
  const fromZero = (u, min, max) => [0, Math.max(1, max * 1.1)];
  const options = {
    width: Math.max(280, container.clientWidth || 600),
    height: HEIGHT,
    series: series(),
    scales: { x: { time: true, range: timeRange },
      mib: { auto: true, range: fromZero }, workers: { auto: true, range: fromZero } },
    axes: [{}, { scale: 'mib', label: 'MiB/s' }, { scale: 'workers', side: 1, label: 'workers', grid: { show: false } }],
    legend: { live: true },
  };
  container.replaceChildren();
  charts.set(name, { chart: new uPlot(options, data, container), container });
}

export const hasChart = (name) => charts.has(name);

export function dropChart(name) {
  const known = charts.get(name);
  if (known) known.chart.destroy();
  charts.delete(name);
}

/** Gives the named chart its container's width (it was drawn while hidden, or the window changed). */
export function fit(name) {
  const known = charts.get(name);
  if (known && known.container.clientWidth) known.chart.setSize({ width: known.container.clientWidth, height: HEIGHT });
}

let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { for (const name of charts.keys()) fit(name); }, 150);
});
