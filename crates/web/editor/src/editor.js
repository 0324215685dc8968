// The /sql page's editor: CodeMirror 6 with SQL highlighting, the warehouse's
// tables and columns for autocomplete (from /api/schema), history, bracket
// matching, and Ctrl+Enter (Cmd+Enter) to run. The page's own script calls
// window.darkroomEditor.mount(); build.sh bundles this into ../assets/editor.js.
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection, placeholder } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { bracketMatching, syntaxHighlighting, defaultHighlightStyle, indentOnInput } from '@codemirror/language';
import { sql, PostgreSQL } from '@codemirror/lang-sql';

/** The schema of /api/schema as lang-sql's namespace: each table's columns with type and description. */
function namespace(schema) {
  const tables = {};
  for (const table of schema.tables || []) {
    tables[table.name] = {
      self: { label: table.name, type: 'type', detail: 'table', info: table.description || undefined },
      children: (table.columns || []).map((c) => ({
        label: c.name,
        type: 'property',
        detail: c.type,
        info: [c.description, c.values && c.values.length ? 'values: ' + c.values.join(', ') : ''].filter(Boolean).join('\n') || undefined,
      })),
    };
  }
  return tables;
}

/**
 * Puts an editor in `parent`. `options`: doc (the first SQL), schema (/api/schema's
 * answer), onRun (called on Ctrl+Enter), label (for screen readers).
 * Returns { getSql, setSql, focus, view }.
 */
function mount(parent, options) {
  const run = () => { if (options.onRun) options.onRun(); return true; };
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.doc || '',
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        autocompletion({ activateOnTyping: true }),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        placeholder('SELECT … FROM daily_metrics'),
        sql({ dialect: PostgreSQL, schema: namespace(options.schema || {}), upperCaseKeywords: true }),
        Prec.highest(keymap.of([{ key: 'Mod-Enter', run }])),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
        EditorView.contentAttributes.of({ 'aria-label': options.label || 'SQL query' }),
        EditorView.lineWrapping,
      ],
    }),
  });
  return {
    view,
    getSql: () => view.state.doc.toString(),
    setSql: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    focus: () => view.focus(),
  };
}

window.darkroomEditor = { mount };
