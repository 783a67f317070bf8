/**
 * Building the page: elements made with textContent (never from HTML, so nothing a user typed can run),
 * styles set through the CSSOM (a strict Content-Security-Policy blocks style attributes, not that),
 * listeners attached here rather than written into the markup, and the few widgets every view uses.
 */
import { percent as pct, when } from './format.js';

export const $ = (id) => document.getElementById(id);

/**
 * An element with attributes and children (strings become text nodes). `on…` attributes become
 * listeners, `style` an object of CSSOM properties, `dataset` data-* attributes.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.substring(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function badge(status) {
  return h('span', { class: 'badge ' + status, dataset: { status } }, status);
}

/** The colour of a bar: green when done, red when failed (both only paint; nothing is decided here). */
export function barClass(base, status) {
  return base + (status === 'COMPLETED' ? ' done' : '') + (status === 'FAILED' ? ' failed' : '');
}

export function progress(percent, status, label) {
  if (percent === null || percent === undefined) return h('span', { class: 'muted' }, '–');
  const bar = h('div', {
    class: barClass('bar', status),
    role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(percent),
    'aria-label': label || 'progress',
  }, h('span', { style: { width: Math.max(0, Math.min(100, percent)) + '%' } }));
  return h('div', { class: 'progress', dataset: { percent: String(percent) } }, bar, h('span', { class: 'pct' }, pct(percent)));
}

export function timeEl(iso) {
  return iso ? h('time', { datetime: iso, title: iso }, when(iso)) : '–';
}

let toastTimer = null;

/** A short message at the bottom; errors stay longer (9 s against 5 s), to be read to the end. */
export function toast(message, error) {
  const t = $('toast');
  t.textContent = message;
  t.className = 'toast' + (error ? ' error' : '');
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, error ? 9000 : 5000);
}

/** Saves text as a file, from the browser's memory. */
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Asks in the page's dialog; resolves true for OK. Focus starts on Cancel, and Escape cancels. */
export function confirmAction(title, text, ok) {
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

/** The values a select offers: what the page accepts for it from a URL. */
export const optionValues = (select) => [...select.options].map((o) => o.value);
