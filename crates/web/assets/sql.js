// The /sql page: the schema browser, the editor (editor.js), running and
// cancelling a query, the result table, a chart of it, saving it to a
// dashboard, and (when editing a chart) its versions with diff and restore.
(function () {
  const app = document.getElementById('sql-app');
  const chartId = app.dataset.chart || null;
  const status = document.getElementById('sql-status');
  const result = document.getElementById('sql-result');
  const runButton = document.getElementById('run');
  const cancelButton = document.getElementById('cancel');
  const builder = document.getElementById('chart-builder');
  const field = (id) => document.getElementById(id);
  let editor = null;
  let running = null;
  let baseVersion = null;
  let loadedChart = null;

  const { call: api, said } = window.darkroomApi;

  // The schema browser: each table a <details> with its columns, types,
  // descriptions and categorical values; a click puts the name in the editor.
  function drawSchema(schema) {
    const tree = field('schema-tree');
    tree.textContent = '';
    for (const table of schema.tables) {
      const details = document.createElement('details');
      details.className = 'table';
      details.dataset.search = (table.name + ' ' + table.columns.map((c) => c.name).join(' ')).toLowerCase();
      const summary = document.createElement('summary');
      summary.textContent = table.name;
      const rows = document.createElement('span');
      rows.className = 'rows-count';
      rows.textContent = ' ' + Number(table.rows).toLocaleString() + ' rows';
      summary.appendChild(rows);
      details.appendChild(summary);
      if (table.description) {
        const p = document.createElement('p');
        p.className = 'definition';
        p.textContent = table.description;
        details.appendChild(p);
      }
      const list = document.createElement('ul');
      for (const column of table.columns) {
        const li = document.createElement('li');
        const name = document.createElement('button');
        name.type = 'button';
        name.className = 'column';
        name.textContent = column.name;
        name.title = 'Put ' + column.name + ' in the query';
        name.addEventListener('click', () => insert(column.name));
        li.appendChild(name);
        const type = document.createElement('span');
        type.className = 'type';
        type.textContent = ' ' + column.type;
        li.appendChild(type);
        if (column.description || (column.values && column.values.length)) {
          const words = document.createElement('div');
          words.className = 'definition';
          words.textContent = [column.description, column.values && column.values.length ? 'values: ' + column.values.join(', ') : '']
            .filter(Boolean).join(' · ');
          li.appendChild(words);
        }
        list.appendChild(li);
      }
      details.appendChild(list);
      tree.appendChild(details);
    }
    field('schema-filter').addEventListener('input', (e) => {
      const wanted = e.target.value.toLowerCase();
      for (const d of tree.querySelectorAll('details.table')) d.hidden = wanted !== '' && !d.dataset.search.includes(wanted);
    });
  }

  function insert(text) {
    const view = editor.view;
    const at = view.state.selection.main;
    view.dispatch({ changes: { from: at.from, to: at.to, insert: text }, selection: { anchor: at.from + text.length } });
    view.focus();
  }

  async function run() {
    if (running) return;
    const queryId = Math.random().toString(36).slice(2) + Date.now().toString(36);
    running = queryId;
    runButton.disabled = true;
    cancelButton.disabled = false;
    status.textContent = 'Running…';
    status.className = '';
    try {
      const body = await api('POST', '/api/query', { sql: editor.getSql(), limit: 1000, query_id: queryId });
      result.textContent = '';
      status.textContent = body.row_count + ' rows' + (body.truncated ? ' (the first 1000)' : '') + ' in ' + body.elapsed_ms + ' ms';
      drawRows(body);
      fillColumns(body.columns);
      builder.hidden = false;
      preview();
    } catch (error) {
      // The rows and chart of an earlier query would read as this one's answer.
      result.textContent = '';
      builder.hidden = true;
      status.textContent = said(error);
      status.className = 'error';
    } finally {
      running = null;
      runButton.disabled = false;
      cancelButton.disabled = true;
    }
  }

  async function cancel() {
    if (!running) return;
    try {
      await api('POST', '/api/query/cancel', { query_id: running });
    } catch (error) {
      status.textContent = said(error);
    }
  }

  function drawRows(body) {
    const table = document.createElement('table');
    table.className = 'rows';
    const head = table.createTHead().insertRow();
    for (const c of body.columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = c.name;
      th.title = c.type;
      head.appendChild(th);
    }
    const rows = table.createTBody();
    for (const r of body.rows) {
      const tr = rows.insertRow();
      for (const v of r) tr.insertCell().textContent = v === null ? '' : String(v);
    }
    result.appendChild(table);
  }

  // The chart's columns: x and series are one column each, y any of the rest.
  function fillColumns(columns) {
    const chosen = chartSettings();
    const x = field('chart-x');
    const series = field('chart-series');
    x.textContent = '';
    series.textContent = '';
    series.appendChild(new Option('(none)', ''));
    for (const c of columns) {
      x.appendChild(new Option(c.name, c.name));
      series.appendChild(new Option(c.name, c.name));
    }
    const yBox = field('chart-y');
    for (const old of yBox.querySelectorAll('label')) old.remove();
    for (const c of columns) {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = c.name;
      box.addEventListener('change', preview);
      label.appendChild(box);
      label.appendChild(document.createTextNode(' ' + c.name));
      yBox.appendChild(label);
    }
    const wanted = loadedChart && !chosen.x ? loadedChart : chosen;
    if (wanted.x && columns.some((c) => c.name === wanted.x)) x.value = wanted.x;
    if (wanted.series && columns.some((c) => c.name === wanted.series)) series.value = wanted.series;
    for (const box of yBox.querySelectorAll('input')) box.checked = (wanted.y || []).includes(box.value);
  }

  function chartSettings() {
    const y = [...field('chart-y').querySelectorAll('input:checked')].map((b) => b.value);
    return {
      title: field('chart-title').value.trim(),
      kind: field('chart-kind').value,
      x: field('chart-x').value || null,
      series: field('chart-series').value || null,
      y,
    };
  }

  async function preview() {
    const settings = chartSettings();
    const place = field('chart-preview');
    try {
      const svg = await api('POST', '/api/chart-preview', {
        sql: editor.getSql(), kind: settings.kind, title: settings.title || 'Preview',
        x: settings.x, series: settings.series, y: settings.y,
      });
      place.innerHTML = svg;
    } catch (error) {
      place.textContent = said(error);
    }
  }

  async function save() {
    const settings = chartSettings();
    const saveStatus = field('save-status');
    if (!settings.title) {
      saveStatus.textContent = 'Give the chart a title first.';
      field('chart-title').focus();
      return;
    }
    const chart = { ...settings, sql: editor.getSql() };
    try {
      if (chartId) {
        const kept = loadedChart || {};
        const body = { ...chart, description: kept.description, metric: kept.metric, format: kept.format, width: kept.width, base_version: baseVersion };
        const saved = await api('PUT', '/api/charts/' + encodeURIComponent(chartId), body);
        saveStatus.innerHTML = '';
        saveStatus.append('Saved as version ' + saved.version + ' of ', link('/d/' + saved.dashboard + '#chart-' + chartId, saved.dashboard));
        baseVersion = saved.version;
        loadHistory();
        return;
      }
      let slug = field('chart-dashboard').value;
      if (!slug) {
        const title = field('new-dashboard-title').value.trim();
        if (!title) {
          saveStatus.textContent = 'Name the new dashboard first.';
          field('new-dashboard-title').focus();
          return;
        }
        const made = await api('POST', '/api/dashboards', { title, team: field('new-dashboard-team').value });
        slug = made.slug;
      }
      const saved = await api('POST', '/api/dashboards/' + encodeURIComponent(slug) + '/charts', chart);
      saveStatus.innerHTML = '';
      saveStatus.append('Saved: ', link(saved.url, saved.id + ' on ' + saved.dashboard), ' · ', link('/sql?chart=' + encodeURIComponent(saved.id), 'edit it'));
    } catch (error) {
      saveStatus.textContent = said(error);
    }
  }

  function link(href, text) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    return a;
  }

  async function loadHistory() {
    const list = field('history-list');
    try {
      const history = await api('GET', '/api/charts/' + encodeURIComponent(chartId) + '/versions');
      list.textContent = '';
      history.versions.forEach((entry, i) => {
        const v = entry.version;
        const item = document.createElement('details');
        item.className = 'version';
        item.open = i === 0;
        const summary = document.createElement('summary');
        summary.textContent = 'Version ' + v.version + (i === 0 ? ' (current)' : '') + ' · ' + v.note + ' · by ' + v.author + ' · ' + new Date(v.saved_at * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
        item.appendChild(summary);
        const pre = document.createElement('pre');
        pre.className = 'diff';
        for (const line of entry.sql_diff.split('\n')) {
          const span = document.createElement('span');
          span.className = line.startsWith('+++') || line.startsWith('---') ? 'head' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : 'same';
          span.textContent = line + '\n';
          pre.appendChild(span);
        }
        item.appendChild(pre);
        if (i > 0) {
          const restore = document.createElement('button');
          restore.type = 'button';
          restore.className = 'restore';
          restore.dataset.version = v.version;
          restore.textContent = 'Restore version ' + v.version;
          restore.addEventListener('click', async () => {
            try {
              await api('POST', '/api/charts/' + encodeURIComponent(chartId) + '/versions/' + v.version + '/restore');
              await loadChart();
              await loadHistory();
              field('save-status').textContent = 'Restored version ' + v.version + '.';
              run();
            } catch (error) {
              field('save-status').textContent = said(error);
            }
          });
          item.appendChild(restore);
        }
        list.appendChild(item);
      });
    } catch (error) {
      list.textContent = said(error);
    }
  }

  async function loadChart() {
    const dashboard = app.dataset.dashboard;
    const source = await api('GET', '/api/dashboards/' + encodeURIComponent(dashboard) + '/source');
    baseVersion = source.version;
    loadedChart = source.source.charts.find((c) => c.id === chartId) || null;
    if (!loadedChart) return;
    editor.setSql(loadedChart.sql);
    field('chart-title').value = loadedChart.title;
    field('chart-kind').value = loadedChart.kind;
  }

  field('chart-dashboard').addEventListener('change', (e) => {
    const fresh = e.target.value === '';
    field('new-dashboard-title-label').hidden = !fresh;
    field('new-dashboard-team-label').hidden = !fresh;
  });
  for (const id of ['chart-kind', 'chart-x', 'chart-series']) field(id).addEventListener('change', preview);
  field('chart-title').addEventListener('change', preview);
  runButton.addEventListener('click', run);
  cancelButton.addEventListener('click', cancel);
  field('save-chart').addEventListener('click', save);
  if (chartId) field('chart-dashboard').disabled = true;

  const start = async () => {
    let schema = { tables: [] };
    try {
      schema = await api('GET', '/api/schema');
      drawSchema(schema);
    } catch (error) {
      field('schema-tree').textContent = said(error);
    }
    editor = window.darkroomEditor.mount(field('editor'), { doc: field('sql-text').value, schema, onRun: run, label: 'SQL query' });
    if (chartId) {
      await loadChart();
      loadHistory();
      run();
    }
    editor.focus();
  };
  start();
})();
