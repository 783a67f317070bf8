/**
 * The submit form, built from GET api/operations (a field per parameter of the chosen operation). The
 * server checks the request; each of its errors is shown next to its field. The form carries an
 * Idempotency-Key, new each time the form opens or the server refused what was sent, so that a double
 * click makes one job.
 */
import { api } from '../api.js';
import { $, h, toast } from '../dom.js';

/** GET api/operations, loaded when the form first opens. */
let operations = [];
/** The Idempotency-Key of what the form sends next. */
let submitKey = null;

const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());

export function enterSubmit() {
  submitKey = newKey();
  clearErrors();
  loadOperations().catch((e) => toast('Could not load the operations: ' + e.message, true));
}

/** The overview names the roots: the hint under the input field, and a start for the reader. */
export function overviewForSubmit(o) {
  $('f-root-hint').textContent = 'inside ' + o.inputRoots.join(' or ') + '; output goes under ' + o.outputRoot;
  if (!$('f-root').value && !$('f-root').dataset.touched) $('f-root').placeholder = o.inputRoots[0] + '/…';
}

async function loadOperations() {
  if (operations.length) return;
  operations = await api('api/operations');
  $('f-operation').replaceChildren(...operations.map((op) => h('option', { value: op.name }, op.name)));
  renderParams();
}

function renderParams() {
  const op = operations.find((o) => o.name === $('f-operation').value);
  $('f-operation-description').textContent = op ? op.description : '';
  const body = $('f-params-body');
  if (!op || !op.parameters.length) {
    body.replaceChildren(h('p', { class: 'muted' }, 'This operation takes no parameters.'));
    return;
  }
  body.replaceChildren(...op.parameters.map(paramField));
}

function paramField(p) {
  const id = 'p-' + p.name;
  const field = 'params.' + p.name;
  const data = { param: p.name, type: p.type };
  let input;
  if (p.type === 'boolean') {
    input = h('input', { type: 'checkbox', id, name: field, dataset: data });
    input.checked = p.defaultValue === 'true';
  } else if (p.type === 'enum') {
    input = h('select', { id, name: field, dataset: data },
      ...(p.required ? [] : [h('option', { value: '' }, p.defaultValue ? '(default: ' + p.defaultValue + ')' : '(none)')]),
      ...p.allowed.map((a) => h('option', { value: a }, a)));
  } else {
    input = h('input', {
      id, name: field, type: 'text', inputmode: p.type === 'integer' ? 'numeric' : null, autocomplete: 'off',
      placeholder: p.defaultValue ? 'default: ' + p.defaultValue : '', dataset: data, 'aria-describedby': id + '-hint',
    });
  }
  const hint = h('p', { class: 'hint', id: id + '-hint' }, p.description || '');
  const error = h('p', { class: 'field-error', id: 'err-' + field, dataset: { field }, hidden: true });
  if (p.type === 'boolean') {
    return h('div', { class: 'field' }, h('label', { class: 'check', for: id }, input, ' ' + p.name), hint, error);
  }
  const range = p.type === 'integer' && p.allowed.length === 2 ? ' (' + p.allowed[0] + ' to ' + p.allowed[1] + ')' : '';
  const label = h('label', { for: id }, p.name, p.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null,
    h('span', { class: 'muted' }, ' · ' + p.type + range));
  return h('div', { class: 'field' }, label, input, hint, error);
}

function clearErrors() {
  $('form-error').hidden = true;
  for (const el of document.querySelectorAll('#submit-form .field-error')) { el.hidden = true; el.textContent = ''; }
  for (const el of document.querySelectorAll('#submit-form [aria-invalid]')) el.removeAttribute('aria-invalid');
}

const lines = (text) => text.split('\n').map((s) => s.trim()).filter((s) => s.length > 0);

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
    const job = await api('api/jobs', { method: 'POST', json: buildRequest(), headers: { 'Idempotency-Key': submitKey } });
    toast('Job ' + (job.name || job.id) + ' submitted');
    $('submit-form').reset();
    renderParams();
    location.hash = '#/jobs/' + encodeURIComponent(job.id);
  } catch (e) {
    if (e.status === 422) submitKey = newKey();
    showErrors(e.problem);
  } finally {
    button.disabled = false;
  }
}

export function wireSubmit() {
  $('f-operation').addEventListener('change', renderParams);
  $('f-root').addEventListener('input', () => { $('f-root').dataset.touched = '1'; });
  $('submit-form').addEventListener('submit', submitJob);
}
