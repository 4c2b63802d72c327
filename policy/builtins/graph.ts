/** graph.reachable and graph.reachable_paths over an adjacency object (node → array or set of neighbours). */
import { RObject, RSet, type Value } from '../value.ts';
import { elems, obj, setOf, type BuiltinDef } from './types.ts';

const neighbours = (g: RObject, n: Value): Value[] => {
  const e = g.get(n);
  return e === undefined || e === null ? [] : Array.isArray(e) || e instanceof RSet ? elems('graph.reachable', e, 1) : [];
};

export const graphBuiltins: Record<string, BuiltinDef> = {
  // A start node that is not a key of the graph is not reached (OPA only enqueues nodes it finds edges for).
  'graph.reachable': {
    arity: 2,
    fn: ([g, init]) => {
      const graph = obj('graph.reachable', g, 1);
      const reached = new RSet();
      const queue = [...elems('graph.reachable', init, 2)];
      while (queue.length) {
        const n = queue.shift()!;
        if (reached.has(n) || !graph.has(n)) continue;
        reached.add(n);
        queue.push(...neighbours(graph, n));
      }
      return reached;
    },
  },
  // OPA's pathBuilder: a path ends at a node without edges, before a node not in the graph, or where it would close a cycle.
  'graph.reachable_paths': {
    arity: 2,
    fn: ([g, init]) => {
      const graph = obj('graph.reachable_paths', g, 1);
      const paths = new RSet();
      const build = (root: Value, path: Value[], reached: RSet) => {
        if (!graph.has(root)) { paths.add(path); return; }
        const here = [...path, root];
        const outs = neighbours(graph, root);
        if (!outs.length) { paths.add(here); return; }
        const seen = setOf([...reached.sorted(), root]);
        for (const m of outs) { if (seen.has(m)) paths.add(here); else build(m, here, seen); }
      };
      for (const n of elems('graph.reachable_paths', init, 2)) {
        if (!graph.has(n)) continue;
        const outs = neighbours(graph, n);
        if (!outs.length) paths.add([n]);
        for (const m of outs) build(m, [n], setOf([n]));
      }
      return paths;
    },
  },
};
