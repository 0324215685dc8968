// Changing a dashboard from its page (editor): each chart's Edit, move and
// width and remove, a new filter; restoring a version (the history page);
// share links (admin). Every change is a whole dashboard saved through the
// JSON API, which writes dashboards/SLUG.toml and keeps the version.
(function () {
  const bar = document.getElementById('edit-bar');
  const slug = bar ? bar.dataset.slug : null;
  const status = document.getElementById('edit-status');

  const { call: api, said } = window.darkroomApi;
  const tell = (text) => { if (status) status.textContent = text; };

  /** Loads the dashboard's source, lets `change` alter it, saves it, reloads the page. */
  async function changeDashboard(note, change) {
    try {
      const current = await api('GET', '/api/dashboards/' + encodeURIComponent(slug) + '/source');
      change(current.source);
      await api('PUT', '/api/dashboards/' + encodeURIComponent(slug), { source: current.source, base_version: current.version, note });
      window.location.reload();
    } catch (error) {
      tell(said(error));
    }
  }

  function button(text, label, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', onClick);
    return b;
  }

  // Arrange: each card gets Edit, Move up, Move down, Wider/Narrower, Remove.
  function arrange(on) {
    for (const card of document.querySelectorAll('section.card[id^="chart-"]')) {
      const old = card.querySelector('.card-tools');
      if (old) old.remove();
      if (!on) continue;
      const id = card.id.slice('chart-'.length);
      const title = card.querySelector('h2').textContent;
      const tools = document.createElement('div');
      tools.className = 'card-tools';
      const edit = document.createElement('a');
      edit.href = '/sql?chart=' + encodeURIComponent(id);
      edit.textContent = 'Edit SQL';
      edit.className = 'button';
      tools.appendChild(edit);
      const move = (by) => changeDashboard('moved chart ' + id, (source) => {
        const i = source.charts.findIndex((c) => c.id === id);
        const j = i + by;
        if (i < 0 || j < 0 || j >= source.charts.length) return;
        [source.charts[i], source.charts[j]] = [source.charts[j], source.charts[i]];
      });
      tools.appendChild(button('↑', 'Move ' + title + ' up', () => move(-1)));
      tools.appendChild(button('↓', 'Move ' + title + ' down', () => move(1)));
      tools.appendChild(button('Wider/narrower', 'Make ' + title + ' wider or narrower', () => changeDashboard('resized chart ' + id, (source) => {
        const chart = source.charts.find((c) => c.id === id);
        chart.width = (chart.width || 1) === 1 ? 2 : 1;
      })));
      tools.appendChild(button('Remove', 'Remove ' + title, () => {
        if (window.confirm('Remove "' + title + '" from this dashboard? Its versions stay in the history.')) {
          changeDashboard('removed chart ' + id, (source) => { source.charts = source.charts.filter((c) => c.id !== id); });
        }
      }));
      card.insertBefore(tools, card.children[1] || null);
    }
  }

  const arrangeButton = document.getElementById('arrange');
  if (arrangeButton) {
    arrangeButton.addEventListener('click', () => {
      const on = arrangeButton.getAttribute('aria-pressed') !== 'true';
      arrangeButton.setAttribute('aria-pressed', String(on));
      arrange(on);
    });
  }

  const addFilter = document.getElementById('add-filter');
  if (addFilter) {
    addFilter.addEventListener('submit', (e) => {
      e.preventDefault();
      const form = new FormData(addFilter);
      const filter = { name: form.get('name'), kind: form.get('kind') };
      if (form.get('default')) filter.default = form.get('default');
      if (form.get('options_sql')) filter.options_sql = form.get('options_sql');
      changeDashboard('added filter ' + filter.name, (source) => { source.filters = [...(source.filters || []), filter]; });
    });
  }

  // Share links (admin): make one, list the live ones, revoke.
  async function listShares() {
    const list = document.getElementById('share-list');
    if (!list) return;
    list.textContent = '';
    for (const share of await api('GET', '/api/shares?dashboard=' + encodeURIComponent(slug))) {
      const li = document.createElement('li');
      li.textContent = 'made by ' + share.created_by + ' on ' + new Date(share.created * 1000).toISOString().slice(0, 10) +
        (share.expires ? ', expires ' + new Date(share.expires * 1000).toISOString().slice(0, 10) : ', never expires') + ' ';
      li.appendChild(button('Revoke', 'Revoke this share link', async () => {
        await api('DELETE', '/api/share-links/' + share.id);
        listShares();
      }));
      list.appendChild(li);
    }
  }
  const makeShare = document.getElementById('make-share');
  if (makeShare) {
    document.getElementById('share-panel').addEventListener('toggle', listShares);
    makeShare.addEventListener('click', async () => {
      const days = document.getElementById('share-days').value;
      try {
        const made = await api('POST', '/api/dashboards/' + encodeURIComponent(slug) + '/share', days ? { expires_in_days: Number(days) } : {});
        const out = document.getElementById('share-made');
        out.textContent = 'Anyone with this link sees the dashboard, without a login: ';
        const a = document.createElement('a');
        a.href = made.url;
        a.id = 'share-url';
        a.textContent = made.url;
        out.appendChild(a);
        listShares();
      } catch (error) {
        tell(said(error));
      }
    });
  }

  // The history page: restore a version.
  for (const restore of document.querySelectorAll('button.restore[data-slug]')) {
    restore.addEventListener('click', async () => {
      try {
        const saved = await api('POST', '/api/dashboards/' + encodeURIComponent(restore.dataset.slug) + '/versions/' + restore.dataset.version + '/restore');
        tell('Restored as version ' + saved.version + '.');
        window.location.reload();
      } catch (error) {
        tell(said(error));
      }
    });
  }

  // The admin page: revoke any share link.
  for (const revoke of document.querySelectorAll('button.revoke-share')) {
    revoke.addEventListener('click', async () => {
      try {
        await api('DELETE', '/api/share-links/' + revoke.dataset.id);
        revoke.closest('tr').remove();
      } catch (error) {
        tell(said(error));
      }
    });
  }
})();
