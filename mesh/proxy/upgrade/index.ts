// HTTP/1.1 upgrades (WebSocket and others) and CONNECT: the listener's side
// and the upstream's.

export { UpgradeTunnels } from './downstream.ts';
export { forwardUpgrade, isWebSocket } from './forward.ts';
