/**
 * A Prometheus scrape endpoint: `GET /metrics` answers with the text `text()` makes at that
 * moment (exposition format 0.0.4); anything else is a 404 that says where to look.
 * Used by `isthmus agent --metrics ADDR` and `isthmus stat --serve ADDR`.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';

/**
 * Listens on `addr`: `HOST:PORT`, `:PORT` or `PORT` (host 127.0.0.1; port 0 picks one), or
 * `unix:/PATH`. `flag` names the option in errors. Resolves with the server and its URL.
 */
export function serveMetrics(addr: string, flag: string, text: () => string): Promise<{ server: Server; where: string }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      let body: string;
      try {
        body = text();
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`cannot read the metrics: ${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not found: ${req.url} (try /metrics)\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (addr.startsWith('unix:')) {
      const path = addr.slice(5);
      if (existsSync(path)) unlinkSync(path);
      server.listen(path, () => resolve({ server, where: `unix:${path}` }));
      return;
    }
    const m = /^(?:(.*):)?(\d+)$/.exec(addr);
    if (!m) return reject(new Error(`${flag} ${JSON.stringify(addr)}: use HOST:PORT, :PORT, PORT or unix:/PATH`));
    const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1';
    server.listen(Number(m[2]), host, () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : Number(m[2]);
      resolve({ server, where: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics` });
    });
  });
}
