// Importing places (planners): choose a file, its coordinate system, encoding, source,
// kind and column mapping; a dry run first reports what would be created, updated or
// refused (with line numbers and reasons); then the real run, with the upload's progress.
// Both are `POST /v1/places/import`, the command line's code path.

import { $, api, config, el, showError, t } from './common.js';

const content = $('content');

function options(form, dryRun) {
  const v = Object.fromEntries(new FormData(form));
  const mapping = {};
  for (const key of ['name', 'external_id', 'address', 'station']) if (v[`map_${key}`]) mapping[key] = v[`map_${key}`];
  const o = { source: v.source, crs: v.crs, dry_run: dryRun, deactivate_missing: v.deactivate_missing === 'on', repair: v.repair === 'on' };
  if (v.kind_column) o.kind_column = v.kind_column; else if (v.kind) o.kind = v.kind;
  if (Object.keys(mapping).length) o.mapping = mapping;
  return o;
}

// XMLHttpRequest, for the upload's progress (fetch has none); the same cookie and CSRF header.
function upload(form, dryRun, bar) {
  return new Promise((resolve, reject) => {
    const data = new FormData();
    data.append('file', form.elements.file.files[0]);
    data.append('options', JSON.stringify(options(form, dryRun)));
    if (form.elements.encoding.value) data.append('encoding', form.elements.encoding.value);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/places/import');
    xhr.setRequestHeader(config.csrfHeader, document.cookie.split('; ').find((c) => c.startsWith(`${config.csrfCookie}=`))?.split('=')[1] || '');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; } };
    xhr.onload = () => {
      bar.removeAttribute('value');
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(Object.assign(new Error(body?.error?.message || xhr.statusText), { field: body?.error?.details?.field, status: xhr.status }));
    };
    xhr.onerror = () => reject(new Error(t('error.load')));
    xhr.send(data);
  });
}

function report(r) {
  return el('div', { class: 'card', id: 'import-report', 'data-dry-run': String(r.dry_run) },
    el('h2', {}, r.dry_run ? t('import.dry_report') : t('import.done')),
    el('p', {}, `${t('import.rows')} ${r.rows} · ${t('import.created')} `, el('b', { id: 'import-created' }, r.created),
      ` · ${t('import.updated')} ${r.updated} · ${t('import.unchanged')} ${r.unchanged} · ${t('import.refused')} `,
      el('b', { id: 'import-refused' }, r.refused.length), r.deactivated ? ` · ${t('import.deactivated')} ${r.deactivated}` : ''),
    r.refused.length ? el('table', { class: 'ledger' }, el('thead', {}, el('tr', {}, el('th', {}, t('import.line')), el('th', {}, t('import.reason')), el('th', {}, ''))),
      el('tbody', { id: 'import-refusals' }, r.refused.map((x) => el('tr', { 'data-line': x.line },
        el('td', {}, x.line), el('td', {}, t(`import.reason_${x.reason}`)), el('td', {}, x.message))))) : '');
}

function start() {
  const bar = el('progress', { id: 'import-progress', hidden: 'hidden' });
  const message = el('p', { class: 'error', id: 'import-message' });
  const out = el('div', { id: 'import-out' });
  const select = (name, values, labels) => el('select', { name }, values.map((v, i) => el('option', { value: v }, labels[i])));
  const form = el('form', { class: 'stack card', id: 'import-form' },
    el('label', {}, t('import.file'), el('input', { type: 'file', name: 'file', id: 'import-file', required: 'required', accept: '.geojson,.json,.csv,.xlsx,.zip' })),
    el('span', { class: 'field-error', 'data-error-for': 'file' }),
    el('label', {}, t('import.source'), el('input', { name: 'source', id: 'import-source', required: 'required', value: 'import' })),
    el('span', { class: 'field-error', 'data-error-for': 'source' }),
    el('label', {}, t('import.crs'), select('crs', ['wgs84', 'gcj02', 'bd09', 'cgcs2000'], ['WGS84 (GPS)', 'GCJ-02（高德、腾讯）', 'BD-09（百度）', 'CGCS2000'])),
    el('label', {}, t('import.encoding'), select('encoding', ['', 'UTF-8', 'GBK'], [t('import.detect'), 'UTF-8', 'GBK / GB18030'])),
    el('label', {}, t('filter.kind'), select('kind', ['enterprise', 'grid_cell', 'project_site'], [t('kind.enterprise'), t('kind.grid_cell'), t('kind.project_site')])),
    el('label', {}, t('import.kind_column'), el('input', { name: 'kind_column' })),
    el('fieldset', {}, el('legend', {}, t('import.mapping')),
      ['name', 'external_id', 'address', 'station'].map((k) => el('label', {}, t(`import.map_${k}`), el('input', { name: `map_${k}`, placeholder: t('import.auto') })))),
    el('label', {}, el('input', { type: 'checkbox', name: 'repair' }), ' ', t('import.repair')),
    el('label', {}, el('input', { type: 'checkbox', name: 'deactivate_missing' }), ' ', t('import.deactivate_missing')),
    el('p', { class: 'actions' }, el('button', { type: 'submit', id: 'import-dry' }, t('import.dry_run')),
      el('button', { type: 'button', id: 'import-run', disabled: 'disabled' }, t('import.run'))),
    bar, message);
  const go = async (dryRun) => {
    bar.hidden = false;
    try {
      const r = await upload(form, dryRun, bar);
      out.replaceChildren(report(r));
      form.querySelector('#import-run').disabled = !dryRun;
      document.body.dataset.loaded = dryRun ? 'dry' : 'imported';
    } catch (e) { showError(form, e, message); } finally { bar.hidden = true; }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); go(true); });
  form.querySelector('#import-run').addEventListener('click', () => go(false));
  form.addEventListener('change', () => { form.querySelector('#import-run').disabled = true; });
  content.classList.remove('muted');
  content.replaceChildren(el('div', { class: 'columns' }, form, out));
  document.body.dataset.loaded = 'form';
}

start();
