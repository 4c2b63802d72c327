// A demo workload's call to another service: plain HTTP to its sidecar's
// outbound listener in HTTP proxy mode (absolute-form request target, as any
// HTTP_PROXY client sends), the trace context passed on.

import http from 'node:http';

/** GET http://<service><path> through the sidecar's outbound listener `proxy`; resolves with the status (0: no answer). */
export function callService(agent: http.Agent, proxy: URL, service: string, path: string, traceparent?: string | string[]): Promise<number> {
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (typeof traceparent === 'string') headers.traceparent = traceparent;
    const req = http.request({
      host: proxy.hostname, port: proxy.port, agent, method: 'GET', headers,
      path: `http://${service}${path}`,
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}
