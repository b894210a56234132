import { type KindsIn, type Place, wrongPlace } from '../config/kinds';
import type { AnalysisMetric } from '../config/schema';
import type { MeasureContext, MetricQuery } from '../core/ports/metric-query';
import { InvalidInputError } from '../core/errors';

/** One factory per metric provider that runs in `P`: a provider added to config/kinds.ts without its adapter fails the type check. */
export type MetricQueries<P extends Place> = { readonly [K in KindsIn<'metricProvider', P>]: () => MetricQuery };

/**
 * One MetricQuery over several providers: each metric goes to its provider's adapter, made on first use (a
 * Lambda measuring only Prometheus never builds a CloudWatch client). A provider that cannot run in `place`
 * is refused naming the metric and the providers that can.
 */
export function metricRouter<P extends Place>(place: P, table: MetricQueries<P>): MetricQuery {
  const made = new Map<string, MetricQuery>();
  return {
    // async: a refused provider is a rejected promise, as the port promises, not a throw at the call.
    async value(metric: AnalysisMetric, at: Date, context?: MeasureContext) {
      const kind = metric.provider.kind;
      let adapter = made.get(kind);
      if (!adapter) {
        const make = (table as Record<string, (() => MetricQuery) | undefined>)[kind];
        if (!make) throw new InvalidInputError(wrongPlace('metricProvider', kind, place, `analysis metric ${metric.name}: provider.kind`));
        adapter = make();
        made.set(kind, adapter);
      }
      return adapter.value(metric, at, context);
    },
  };
}
