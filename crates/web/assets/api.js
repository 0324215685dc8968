// The JSON API as the app's scripts call it: the page's CSRF token sent, an
// error answer thrown with its message and hint (web.md: {"error", "hint"}).
window.darkroomApi = (function () {
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  /** METHOD path with a JSON body; resolves to the JSON (or text, or null for 204). */
  function call(method, path, body) {
    return fetch(path, {
      method,
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (answer) => {
      const type = answer.headers.get('content-type') || '';
      const data = answer.status === 204 ? null : type.includes('json') ? await answer.json() : await answer.text();
      if (!answer.ok) {
        const error = new Error((data && data.error) || String(data));
        error.hint = data && data.hint;
        error.status = answer.status;
        throw error;
      }
      return data;
    });
  }
  /** An error as the page says it: what went wrong, then what to do. */
  const said = (error) => error.message + (error.hint ? ' — ' + error.hint : '');
  return { call, said };
})();
