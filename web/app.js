/*
 * app.js - the search page's behaviour, served by dksearch-serve with
 * index.html.  Without it the page is a plain form that the server answers
 * with a results page of its own; with it, results come as the user types
 * (/api/search with typing=1), completions under the box (/api/suggest),
 * paging, "Mente du" and facet filters, and the query is kept in the URL so
 * a reload or the form without JavaScript shows the same search.
 *
 * Every address is relative, like those of the server's own results page,
 * so the page works on whatever path a web server in front puts it.
 *
 * Everything from the server is put into the page as text (textContent,
 * createElement), never as HTML; highlight ranges are byte offsets into the
 * UTF-8 snippet and are cut as bytes.  The server's Content-Security-Policy
 * allows no inline script or style, so state is shown with classes and the
 * hidden attribute only.
 */
'use strict';

(function () {
  const PAGE_SIZE = 10;
  const MAX_OFFSET = 1000;   /* the server refuses offsets past this */
  const DEBOUNCE_MS = 150;
  const FIELD_NAMES = { party: 'Parti', date: 'Dato', author: 'Forfatter', type: 'Type' };

  const form = document.getElementById('search-form');
  const input = document.getElementById('q');
  const list = document.getElementById('completions');
  const status = document.getElementById('status');
  const suggestion = document.getElementById('suggestion');
  const suggestionLink = document.getElementById('suggestion-link');
  const notes = document.getElementById('notes');
  const facetBox = document.getElementById('facets');
  const hitList = document.getElementById('hits');
  const pager = document.getElementById('pager');
  // The server's results page, for browsers without JavaScript, pages
  // with links; the script pages by itself, with the buttons of index.html.
  for (const id of ['prev', 'next']) {
    const link = document.getElementById(id);
    if (link && link.tagName === 'A') {
      const button = document.createElement('button');
      button.type = 'button';
      button.id = id;
      button.textContent = link.textContent;
      link.replaceWith(button);
    }
  }
  const prev = document.getElementById('prev');
  const next = document.getElementById('next');
  const pageInfo = document.getElementById('page-info');
  const footer = document.getElementById('footer');
  if (!form || !input || !list || !status || !hitList || !pager || !facetBox) return;

  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  const state = {
    offset: 0,
    filters: [],        /* "FIELD=VALUE", each sent as filter= */
    facetFields: [],    /* from /api/info */
    completions: [],
    active: -1,         /* the highlighted completion, -1 for none */
  };

  /* One request of each kind in flight: a new one aborts the old, and an
   * answer that is not the newest is dropped even if it arrives. */
  const searchReq = { seq: 0, ctl: null };
  const suggestReq = { seq: 0, ctl: null };
  let timer = 0;

  async function fetchJson(req, url) {
    if (req.ctl) req.ctl.abort();
    const ctl = new AbortController();
    req.ctl = ctl;
    const seq = ++req.seq;
    let res, body = null;
    try {
      res = await fetch(url, { signal: ctl.signal, headers: { Accept: 'application/json' } });
      try {
        body = await res.json();
      } catch (e) {
        if (e.name === 'AbortError') throw e;
      }
    } catch (e) {
      if (e.name === 'AbortError' || seq !== req.seq) return null;
      return { error: 'Serveren kunne ikke nås.' };
    }
    if (seq !== req.seq) return null;
    req.ctl = null;
    if (!res.ok || !body || typeof body !== 'object')
      return { error: (body && typeof body.error === 'string')
                      ? 'Søgningen kan ikke udføres: ' + body.error
                      : 'Serveren svarede ikke som ventet (' + res.status + ').' };
    return { body };
  }

  /* ---- the URL ---- */

  function pageUrl(q, offset, filters) {
    const p = new URLSearchParams();
    if (q) p.set('q', q);
    if (offset > 0) p.set('offset', String(offset));
    for (const f of filters) p.append('filter', f);
    const s = p.toString();
    return s ? '?' + s : location.pathname;
  }

  function keepInUrl(q) {
    const url = pageUrl(q, state.offset, state.filters);
    if (url !== location.search && url !== location.pathname + location.search)
      history.replaceState(null, '', url);
  }

  /* ---- text ---- */

  function formatMs(us) {
    const ms = (Number(us) || 0) / 1000;
    if (ms < 0.1) return 'under 0,1 ms';
    return (ms < 10 ? ms.toFixed(1) : String(Math.round(ms))).replace('.', ',') + ' ms';
  }

  function countText(total, exact) {
    const n = exact ? String(total) : total + '+';
    return n + (total === 1 && exact ? ' resultat' : ' resultater');
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* The snippet as text nodes and <mark>s.  Ranges are [start, end) byte
   * offsets into its UTF-8 form; one that overlaps the one before or lies
   * outside the snippet is skipped rather than trusted. */
  function markedSnippet(snippet, ranges) {
    const p = el('p', 'snippet');
    const bytes = encoder.encode(snippet);
    const piece = (from, to) => decoder.decode(bytes.subarray(from, to));
    let at = 0;
    for (const r of Array.isArray(ranges) ? ranges : []) {
      const start = r[0], end = r[1];
      if (!Number.isInteger(start) || !Number.isInteger(end) ||
          start < at || end <= start || end > bytes.length) continue;
      if (start > at) p.appendChild(document.createTextNode(piece(at, start)));
      p.appendChild(el('mark', '', piece(start, end)));
      at = end;
    }
    if (at < bytes.length) p.appendChild(document.createTextNode(piece(at, bytes.length)));
    return p;
  }

  /* An id that is a web address becomes the title's link; one that looks
   * like a path or address is shown under the title. */
  function webAddress(id) {
    if (!/^https?:\/\//i.test(id)) return null;
    try {
      return new URL(id).href;
    } catch (e) {
      return null;
    }
  }

  function looksLikePath(id) {
    return /[\/\\]/.test(id) || /\.[a-z0-9]{1,5}$/i.test(id);
  }

  function renderHit(hit) {
    const li = el('li', 'hit');
    const h = el('h2', 'hit-heading');
    const title = hit.title || hit.id || '(uden titel)';
    const href = webAddress(String(hit.id || ''));
    const t = el(href ? 'a' : 'span', 'hit-title', title);
    if (href) t.href = href;
    else t.tabIndex = 0;
    h.appendChild(t);
    li.appendChild(h);
    if (href || looksLikePath(String(hit.id || ''))) li.appendChild(el('p', 'hit-id', hit.id));
    if (hit.snippet) li.appendChild(markedSnippet(hit.snippet, hit.highlights));
    return li;
  }

  /* ---- facets ---- */

  function fieldName(field) {
    return FIELD_NAMES[field] || field;
  }

  function renderFacets(facets) {
    clear(facetBox);
    let shown = 0;
    for (const field of state.facetFields) {
      const values = (facets && Array.isArray(facets[field])) ? facets[field].slice() : [];
      /* a chosen value stays in the list, to be unchosen, even where the
       * answer does not count it */
      for (const f of state.filters) {
        const v = f.slice(field.length + 1);
        if (f.startsWith(field + '=') && !values.some((x) => x.value === v))
          values.push({ value: v, count: 0 });
      }
      if (values.length === 0) continue;
      const fs = el('fieldset', 'facet');
      fs.appendChild(el('legend', '', fieldName(field)));
      for (const v of values) {
        const filter = field + '=' + v.value;
        const label = el('label', 'facet-value');
        const box = el('input');
        box.type = 'checkbox';
        box.value = filter;
        box.checked = state.filters.includes(filter);
        box.addEventListener('change', () => {
          state.filters = box.checked ? state.filters.concat([filter])
                                      : state.filters.filter((x) => x !== filter);
          state.offset = 0;
          search(false);
        });
        label.appendChild(box);
        label.appendChild(el('span', 'facet-name', v.value));
        label.appendChild(document.createTextNode(' '));
        label.appendChild(el('span', 'facet-count', String(v.count)));
        fs.appendChild(label);
      }
      facetBox.appendChild(fs);
      shown++;
    }
    facetBox.hidden = shown === 0;
  }

  /* ---- results ---- */

  function showNothing() {
    status.textContent = '';
    status.classList.remove('error');
    suggestion.hidden = true;
    notes.hidden = true;
    clear(hitList);
    pager.hidden = true;
    renderFacets(null);
  }

  function showError(message) {
    showNothing();
    status.textContent = message;
    status.classList.add('error');
  }

  function showResults(r) {
    status.classList.remove('error');
    const total = Number(r.total) || 0;
    const hits = Array.isArray(r.hits) ? r.hits : [];
    status.textContent = total === 0 && r.total_exact !== false
      ? 'Ingen resultater (' + formatMs(r.took_us) + ')'
      : countText(total, r.total_exact !== false) + ' (' + formatMs(r.took_us) + ')';

    if (typeof r.suggestion === 'string' && r.suggestion !== '') {
      suggestionLink.textContent = r.suggestion;
      suggestionLink.href = pageUrl(r.suggestion, 0, state.filters);
      suggestion.hidden = false;
    } else {
      suggestion.hidden = true;
    }

    clear(notes);
    for (const n of Array.isArray(r.notes) ? r.notes : [])
      notes.appendChild(el('li', '', String(n)));
    notes.hidden = !notes.firstChild;

    clear(hitList);
    hitList.start = state.offset + 1;
    for (const hit of hits) hitList.appendChild(renderHit(hit));

    renderFacets(r.facets);

    const more = state.offset + hits.length < total && state.offset + PAGE_SIZE <= MAX_OFFSET;
    pager.hidden = state.offset === 0 && !more;
    prev.disabled = state.offset === 0;
    next.disabled = !more;
    pageInfo.textContent = hits.length
      ? (state.offset + 1) + '–' + (state.offset + hits.length) + ' af ' +
        (r.total_exact !== false ? total : total + '+')
      : '';
  }

  /* typing: the last word is still being written, so it also matches as a
   * prefix (while the box is being typed in, not for a submitted search). */
  async function search(typing) {
    const q = input.value.trim();
    keepInUrl(q);
    if (q === '') {
      if (searchReq.ctl) searchReq.ctl.abort();
      searchReq.seq++;
      showNothing();
      return;
    }
    const p = new URLSearchParams({ q, limit: String(PAGE_SIZE), offset: String(state.offset) });
    for (const f of state.filters) p.append('filter', f);
    for (const f of state.facetFields) p.append('facet', f);
    if (typing) p.set('typing', '1');
    const r = await fetchJson(searchReq, 'api/search?' + p);
    if (!r) return;
    if (r.error) showError(r.error);
    else showResults(r.body);
  }

  /* ---- completions ---- */

  function closeCompletions() {
    if (suggestReq.ctl) suggestReq.ctl.abort();
    suggestReq.seq++;
    state.completions = [];
    state.active = -1;
    clear(list);
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  function setActive(i) {
    state.active = i;
    const items = list.children;
    for (let k = 0; k < items.length; k++) {
      const on = k === i;
      items[k].classList.toggle('active', on);
      items[k].setAttribute('aria-selected', on ? 'true' : 'false');
    }
    if (i >= 0) input.setAttribute('aria-activedescendant', items[i].id);
    else input.removeAttribute('aria-activedescendant');
  }

  function showCompletions(completions) {
    const typed = input.value.trim();
    state.completions = completions.filter(
      (c) => c && typeof c.text === 'string' && c.text !== typed);
    state.active = -1;
    clear(list);
    state.completions.forEach((c, i) => {
      const li = el('li', 'completion');
      li.id = 'completion-' + i;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      li.appendChild(el('span', 'completion-text', c.text));
      if (Number.isInteger(c.df))
        li.appendChild(el('span', 'completion-df', c.df === 1 ? '1 dok.' : c.df + ' dok.'));
      /* mousedown, not click: the box must not lose focus first */
      li.addEventListener('mousedown', (e) => {
        e.preventDefault();
        take(i);
      });
      list.appendChild(li);
    });
    const open = state.completions.length > 0 && document.activeElement === input;
    list.hidden = !open;
    input.setAttribute('aria-expanded', open ? 'true' : 'false');
    input.removeAttribute('aria-activedescendant');
  }

  async function suggest() {
    const q = input.value;
    if (q.trim() === '' || /\s$/.test(q)) {
      closeCompletions();
      return;
    }
    const r = await fetchJson(suggestReq, 'api/suggest?' + new URLSearchParams({ q: q.trim() }));
    if (!r) return;
    if (r.error || !Array.isArray(r.body.completions)) closeCompletions();
    else showCompletions(r.body.completions);
  }

  function take(i) {
    const c = state.completions[i];
    if (!c) return;
    input.value = c.text;
    closeCompletions();
    clearTimeout(timer);
    state.offset = 0;
    search(false);
  }

  /* ---- keyboard ---- */

  function hitTitles() {
    return Array.from(hitList.querySelectorAll('.hit-title'));
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.offset = 0;
      search(!/\s$/.test(input.value));
      suggest();
    }, DEBOUNCE_MS);
  });

  input.addEventListener('keydown', (e) => {
    const open = !list.hidden && state.completions.length > 0;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (open) setActive(state.active + 1 < state.completions.length ? state.active + 1 : -1);
      else if (hitTitles().length) hitTitles()[0].focus();
    } else if (e.key === 'ArrowUp' && open) {
      e.preventDefault();
      setActive(state.active > 0 ? state.active - 1
                                 : state.active === 0 ? -1 : state.completions.length - 1);
    } else if (e.key === 'Enter' && open && state.active >= 0) {
      e.preventDefault();
      take(state.active);
    } else if (e.key === 'Escape' && open) {
      e.preventDefault();
      closeCompletions();
    }
  });

  input.addEventListener('blur', closeCompletions);

  hitList.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const titles = hitTitles();
    const i = titles.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    if (e.key === 'ArrowDown') {
      if (i + 1 < titles.length) titles[i + 1].focus();
      else if (!next.disabled) next.focus();
    } else if (i > 0) {
      titles[i - 1].focus();
    } else {
      input.focus();
    }
  });

  /* "/" anywhere but in a text field goes to the search box */
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement) return;
    e.preventDefault();
    input.focus();
    input.select();
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    closeCompletions();
    state.offset = 0;
    search(false);
  });

  suggestionLink.addEventListener('click', (e) => {
    e.preventDefault();
    input.value = suggestionLink.textContent;
    state.offset = 0;
    closeCompletions();
    search(false);
    input.focus();
  });

  function turn(delta) {
    state.offset = Math.max(0, Math.min(MAX_OFFSET, state.offset + delta));
    search(false);
    window.scrollTo(0, 0);
  }
  prev.addEventListener('click', () => turn(-PAGE_SIZE));
  next.addEventListener('click', () => turn(PAGE_SIZE));

  /* ---- start: the search in the URL, once the facet fields are known ---- */

  async function start() {
    const p = new URLSearchParams(location.search);
    input.value = p.get('q') || '';
    const off = parseInt(p.get('offset') || '0', 10);
    state.offset = Number.isInteger(off) && off > 0 ? Math.min(off, MAX_OFFSET) : 0;
    state.filters = p.getAll('filter').filter((f) => f.includes('='));

    const info = await fetchJson({ seq: 0, ctl: null }, 'api/info');
    if (info && info.body) {
      if (Array.isArray(info.body.facets))
        state.facetFields = info.body.facets.filter((f) => typeof f === 'string');
      const n = info.body.documents;
      if (Number.isInteger(n))
        footer.textContent = n === 1 ? '1 dokument i indekset' : n + ' dokumenter i indekset';
    }
    if (input.value.trim() !== '') search(false);
    else input.focus();
  }

  start();
})();
