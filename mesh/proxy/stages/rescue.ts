// The one place an error becomes a response (linkerd's ServerRescue): status
// from the error catalogue, `x-meshlens-error: <code>`, a short text body. If
// the response had already started, the only honest signal left is to cut the
// connection so the client sees a truncated body, not a complete-looking one.

import { toMeshError, writeErrorResponse } from '../errors.ts';
import { isGrpc, writeGrpcError } from '../h2/index.ts';
import type { Stage } from '../stage.ts';

export const rescueStage: Stage = {
  name: 'rescue',
  async handle(ctx, next) {
    try {
      await next();
    } catch (e) {
      const err = toMeshError(e);
      ctx.error = err;
      if (err.code === 'MESH_ERR_INTERNAL') ctx.runtime.log(`${ctx.direction} ${ctx.req.method} ${ctx.authority}: ${err.message}`);
      // A gRPC client reads a status, not an HTTP error: a trailers-only answer (../h2/grpc.ts).
      if (!ctx.res.headersSent && !ctx.res.destroyed && isGrpc(ctx.req)) ctx.grpcStatus = writeGrpcError(ctx.res, err);
      else if (!ctx.res.headersSent && !ctx.res.destroyed) ctx.respBytes = writeErrorResponse(ctx.res, err);
      else ctx.res.destroy();
    }
  },
};
