// HTTP/2 in the sidecar: the listener's side (sessions, limits, h2c
// sniffing), the upstream side (session pools, forwarding) and gRPC.

export { newH2Counters, type H2Counters } from './counters.ts';
export { H2Downstream, MAX_STREAMS, MAX_HEADER_LIST, RAPID_RESET_MIN_STREAMS } from './downstream.ts';
export { sniffPreface, H2_PREFACE } from './preface.ts';
export { H2SessionPool } from './session-pool.ts';
export { forwardH2, usesH2Upstream } from './forward.ts';
export { connectionSpecificIn, CONNECTION_SPECIFIC } from './headers.ts';
export { grpcMethod, grpcStatusOf, isGrpc, writeGrpcError, GRPC_STATUS } from './grpc.ts';
