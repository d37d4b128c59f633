// A reverse proxy between the browser and the Checkout Guard server, in this test's own
// process, that can fail as real ones do: answer every API request with its own 502
// page (an outage), or forward one request and drop the connection once the server has
// answered (an answer lost on the way back). It works the same in every engine, with no
// browser-specific request interception. Loopback only.
import http from 'node:http';

export async function startProxy(target) {
  const upstream = new URL(target);
  const state = {
    /** While true, every /api/ request gets the proxy's 502 page. */
    down: false,
    /** A predicate: the next request it accepts is forwarded, its answer lost. */
    loseAnswerOf: null,
    /** "METHOD path" of every API request, with its Idempotency-Key if any. */
    seen: [],
  };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://proxy').pathname;
    if (path.startsWith('/api/')) {
      state.seen.push({ line: `${req.method} ${path}`, key: req.headers['idempotency-key'] ?? null });
    }
    if (state.down && path.startsWith('/api/')) {
      req.resume();
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1><hr>proxy</body></html>');
      return;
    }
    const lose = state.loseAnswerOf?.(req.method, path) === true;
    if (lose) state.loseAnswerOf = null;
    const forward = http.request({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers,
    }, (answer) => {
      if (lose) {
        // The server has decided (and stored) the request; the shopper never hears it.
        answer.resume();
        answer.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => { if (!res.headersSent) { res.writeHead(502); res.end(); } });
    req.pipe(forward);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    state,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
