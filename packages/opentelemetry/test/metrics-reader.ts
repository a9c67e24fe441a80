import type { Attributes } from "@opentelemetry/api";
import {
  AggregationTemporality,
  type CollectionResult,
  DataPointType,
  type Histogram,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";

/** A reader that exports nothing by itself: the test collects when it wants to look. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One collected point: its attributes and value (a number, or a histogram's count and sum). */
export interface Point<V> {
  readonly attributes: Attributes;
  readonly value: V;
}

/**
 * A meter provider of the OpenTelemetry metrics SDK with two in-memory readers: a cumulative one
 * (as Prometheus reads), and a delta one, which shows only what was recorded or observed since
 * its last collection (the cumulative one keeps reporting a gauge's last value after its
 * callback stopped observing it).
 */
export class TestMetrics {
  readonly reader = new CollectingReader();
  readonly deltaReader = new CollectingReader({
    aggregationTemporalitySelector: () => AggregationTemporality.DELTA,
  });
  readonly provider = new MeterProvider({ readers: [this.reader, this.deltaReader] });

  /** Collects everything recorded so far (and runs the gauge callbacks). */
  collect(): Promise<CollectionResult> {
    return collectFrom(this.reader);
  }

  /** Collects what was recorded, and what the gauge callbacks observe, since the last call. */
  collectDelta(): Promise<CollectionResult> {
    return collectFrom(this.deltaReader);
  }

  /** The data points of every metric since the last `collectDelta()`. */
  async deltaPointCount(): Promise<number> {
    const result = await this.collectDelta();
    return result.resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .reduce((count, metric) => count + metric.dataPoints.length, 0);
  }

  /** What the gauge `name` observes now, per attribute set (from the delta reader). */
  async gauge(name: string): Promise<Point<number>[]> {
    const metric = find(await this.collectDelta(), name);
    if (metric === undefined) return [];
    if (metric.dataPointType !== DataPointType.GAUGE) throw new Error(`${name} is not a gauge`);
    return metric.dataPoints.map(({ attributes, value }) => ({ attributes, value }));
  }

  /** The points of the counter or gauge `name` (none when it recorded nothing). */
  async numbers(name: string): Promise<Point<number>[]> {
    const metric = find(await this.collect(), name);
    if (metric === undefined) return [];
    if (
      metric.dataPointType !== DataPointType.SUM &&
      metric.dataPointType !== DataPointType.GAUGE
    ) {
      throw new Error(`${name} is not a counter or a gauge`);
    }
    return metric.dataPoints.map(({ attributes, value }) => ({ attributes, value }));
  }

  /** The points of the histogram `name`. */
  async histograms(name: string): Promise<Point<Histogram>[]> {
    const metric = find(await this.collect(), name);
    if (metric === undefined) return [];
    if (metric.dataPointType !== DataPointType.HISTOGRAM)
      throw new Error(`${name} is no histogram`);
    return metric.dataPoints.map(({ attributes, value }) => ({ attributes, value }));
  }

  /** The sum of the values of `name`'s points whose attributes include `match`. */
  async total(name: string, match: Attributes = {}): Promise<number> {
    const points = await this.numbers(name);
    return points
      .filter((point) => includes(point.attributes, match))
      .reduce((sum, point) => sum + point.value, 0);
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

async function collectFrom(reader: MetricReader): Promise<CollectionResult> {
  const result = await reader.collect();
  if (result.errors.length > 0) throw new AggregateError(result.errors, "collection failed");
  return result;
}

function find(result: CollectionResult, name: string) {
  return result.resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((metric) => metric.descriptor.name === name);
}

function includes(attributes: Attributes, match: Attributes): boolean {
  return Object.entries(match).every(([key, value]) => attributes[key] === value);
}
