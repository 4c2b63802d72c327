// The peers' configuration files for `npm run bench:proxy`: nginx as the
// upstream (answering a small body itself, so the proxies are what is
// measured), nginx and HAProxy as reverse proxies in front of it, over
// HTTP/1.1 and HTTP/2 cleartext with prior knowledge (h2c). One worker or
// thread each, keep-alive to the upstream, as the sidecar (one Node.js event
// loop) has.

const at = (port: number) => `127.0.0.1:${port}`;

function nginxConf(dir: string, name: string, body: string): string {
  return `
worker_processes 1; daemon off; pid ${dir}/${name}.pid; error_log ${dir}/${name}-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/${name}-body; proxy_temp_path ${dir}/${name}-proxy;
${body}
}
`;
}

/** The upstream: HTTP/1.1 on `port`, and the same answer over h2c on `h2Port` (the floor of the HTTP/2 rows). */
export function upstreamNginx(dir: string, port: number, h2Port: number): string {
  const hello = 'location / { return 200 "hello from upstream\\n"; }';
  return nginxConf(dir, 'upstream', `
  server { listen ${at(port)}; keepalive_requests 1000000; ${hello} }
  server { listen ${at(h2Port)} http2; keepalive_requests 1000000; ${hello} }`);
}

/** nginx as a reverse proxy to the upstream, listening as `listen` says (nginxListen: HTTP/1.1 or h2c). */
export function proxyNginx(dir: string, name: string, upstream: number, listen: string): string {
  return nginxConf(dir, name, `
  upstream app { server ${at(upstream)}; keepalive 64; }
  server {
    listen ${listen}; keepalive_requests 1000000;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`);
}
export const nginxListen = { h1: (port: number) => at(port), h2c: (port: number) => `${at(port)} http2` };

/** One single-threaded HAProxy: `bind` line options for its frontend, `server` line for its backend. */
export function haproxyCfg(bind: string, server: string): string {
  return `
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind ${bind}
  default_backend be
backend be
  server ${server}
`;
}

/**
 * The inbound policy of the "sidecar pair + policy" target, loaded by the
 * control plane and enforced by the callee's sidecar on every request: the
 * client service may GET from the upstream service; anything else is denied
 * (the bench checks one DELETE is refused 403 before it measures).
 */
export const BENCH_POLICY = `package meshlens.authz

default decision := {"allow": false, "reason": "only client may GET from upstream"}

decision := {"allow": true, "reason": "client may GET from upstream"} if {
	input.source.service == "client"
	input.destination.service == "upstream"
	input.request.method == "GET"
}
`;
