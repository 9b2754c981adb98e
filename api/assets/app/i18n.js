// The app's words: Chinese by default, English by the switch (remembered on the phone
// and in the console's `fv_lang` cookie). Both lists are files of the release, kept by
// the service worker, so the words are there offline.

const config = () => globalThis.fieldvisitConfig;
let words = {};
export let lang = 'zh';

export function chosen() {
  const saved = localStorage.getItem('fv_lang');
  if (saved === 'zh' || saved === 'en') return saved;
  const cookie = document.cookie.split('; ').find((c) => c.startsWith('fv_lang='))?.slice(8);
  return cookie === 'en' ? 'en' : 'zh';
}

export async function load(which = chosen()) {
  lang = which;
  const res = await fetch(`${config().base}/i18n/${which}.json`);
  words = await res.json();
  document.documentElement.lang = which === 'zh' ? 'zh-CN' : 'en';
}

export function choose(which) {
  localStorage.setItem('fv_lang', which);
  document.cookie = `fv_lang=${which}; path=/; max-age=31536000; samesite=lax`;
}

export const has = (key) => Object.hasOwn(words, key);

// The word for `key`, with `{name}` filled from `vars`.
export function t(key, vars = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

const fmt = {};
// A time in Asia/Shanghai, as people there read it.
export function when(iso) {
  if (!iso) return '–';
  fmt[lang] ??= new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone: 'Asia/Shanghai', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });
  return fmt[lang].format(new Date(iso));
}
// A time of today as hours and minutes, another day's with its date (the sync badge).
export function lately(iso) {
  const day = (d) => d.toLocaleDateString('en-CA', { timeZone: 'Asia/Shanghai' });
  if (day(new Date(iso)) !== day(new Date())) return when(iso);
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}
export const metres = (m) => (m >= 1000 ? t('unit.km', { n: (m / 1000).toFixed(1) }) : t('unit.m', { n: Math.round(m) }));
