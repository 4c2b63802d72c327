// Inbound: the only destination is the local workload given by --upstream.

import type { Stage } from '../stage.ts';

export const workloadStage: Stage = {
  name: 'workload',
  handle(ctx, next) {
    const w = ctx.runtime.opts.upstream!;
    ctx.endpoint = { instance: ctx.runtime.opts.instance, addr: w.host, port: w.port };
    return next();
  },
};
