// One issue: what it is, its history, its findings and photos, and a button for each
// step its state and the reader's standing allow (`allowed`, from the workflow table).
// A step that needs more (a note, a rating, a date, the issue to merge into) asks for
// it in a small form; the server's field errors show next to the field.

import { $, api, config, el, showError, t, when } from './common.js';

const NEEDS = {
  return: ['note'], reject: ['note'], comment: ['note'], answer: ['note', 'answered_on'], confirm: ['rating', 'note'],
  dispute: ['note'], merge: ['into'],
};

function actionForm(detail, action) {
  const issue = detail;
  const fields = NEEDS[action] || [];
  const message = el('p', { class: 'error' });
  const form = el('form', { class: 'stack card', 'data-action': action });
  for (const f of fields) {
    const input = f === 'note' ? el('textarea', { name: 'note', rows: '2' })
      : f === 'rating' ? el('input', { type: 'number', name: 'rating', min: '1', max: '5', value: '5' })
        : f === 'answered_on' ? el('input', { type: 'date', name: 'answered_on' })
          : el('select', { name: 'into' });
    form.append(el('label', {}, t(`field.${f}`), input), el('span', { class: 'field-error', 'data-error-for': f }));
    if (f === 'into') {
      api(`/v1/issues/similar?issue_id=${issue.id}`).then((s) => s.items.forEach((i) =>
        input.append(el('option', { value: i.id }, `${i.number} ${i.title}`)))).catch(() => {});
    }
  }
  form.append(el('button', { type: 'submit', id: `do-${action}` }, t(`action.${action}`)), message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = { action, version: issue.version };
    if (v.note) body.note = v.note;
    if (v.rating) body.rating = Number(v.rating);
    if (v.answered_on) body.answered_on = v.answered_on;
    if (v.into) body.into = v.into;
    try {
      await api(`/v1/issues/${issue.id}/actions`, { method: 'POST', body });
      await load();
    } catch (err) { showError(form, err, message); }
  });
  return form;
}

async function load() {
  const detail = await api(`/v1/issues/${config.issueId}`);
  const i = detail;
  const panel = el('div', { id: 'action-panel' });
  const buttons = detail.allowed.map((a) => el('button', { type: 'button', id: `action-${a}`, onclick: () => {
    panel.replaceChildren(actionForm(detail, a));
    if (!(NEEDS[a] || []).length) panel.querySelector('form').requestSubmit();
  } }, t(`action.${a}`)));
  const thumbs = el('div', { class: 'thumbs' });
  for (const f of detail.linked_findings) {
    for (const id of (f.photos || []).filter((p) => p.thumbnail_ready).map((p) => p.id)) {
      api(`/v1/photos/${id}/thumbnail`).then((r) => thumbs.append(el('img', { src: r.url, alt: '' }))).catch(() => {});
    }
  }
  $('content').classList.remove('muted');
  $('content').replaceChildren(el('div', { class: 'columns' },
    el('div', {},
      el('h2', {}, `${i.number} ${i.title}`),
      el('p', {}, el('strong', { id: 'issue-state', 'data-state': i.state }, t(`state.${i.state}`)),
        ` · ${i.station_name} · ${(config.lang === 'zh' ? i.department_zh : i.department_en) || '—'}`,
        i.deadline ? ` · ${t('field.deadline')} ${i.deadline}` : ''),
      el('p', {}, i.description),
      i.answer ? el('p', {}, `${t('issue.answer')}: ${i.answer}`) : '',
      el('h3', {}, t('issue.findings')),
      el('ul', {}, detail.linked_findings.map((f) => el('li', {}, `${f.place_name} · ${f.person_name} · ${f.description}`))),
      thumbs,
      el('h3', {}, t('issue.history')),
      el('ol', { class: 'history', id: 'issue-history' }, detail.history.map((h) => el('li', {},
        `${when(h.at)} ${h.actor_name} · ${t(`action.${h.action}`)}`,
        h.to_state ? ` → ${t(`state.${h.to_state}`)}` : '', h.note ? ` · ${h.note}` : '')))),
    el('aside', {}, el('h3', {}, t('issue.actions')),
      buttons.length ? el('div', { class: 'actions' }, buttons) : el('p', { class: 'muted' }, t('issue.no_actions')),
      panel)));
  document.body.dataset.loaded = i.state;
}

load().catch((e) => { $('content').textContent = `${t('error.load')}: ${e.message}`; });
