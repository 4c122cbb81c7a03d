/// The kind of a metric in a ``MetricsRegistry``.
public enum MetricKind: String, Sendable, CaseIterable {
    /// A total that only goes up: `Counter`, `FloatingPointCounter`.
    case counter
    /// A value that goes up and down: `Gauge` (a non-aggregating `Recorder`), `Meter`.
    case gauge
    /// A distribution of recorded values: an aggregating `Recorder`.
    case histogram
    /// A distribution of durations in seconds: `Timer`.
    case timer

    /// The Prometheus type of the family: a timer is a histogram.
    public var prometheusType: String {
        switch self {
        case .counter: return "counter"
        case .gauge: return "gauge"
        case .histogram, .timer: return "histogram"
        }
    }
}

/// One bucket of a histogram: how many observations were at most ``upperBound``.
public struct HistogramBucket: Sendable, Hashable {
    /// The inclusive upper bound (`le`); `.infinity` for the last bucket.
    public var upperBound: Double
    /// The observations at most ``upperBound``, cumulative like Prometheus buckets.
    public var cumulativeCount: UInt64

    /// A bucket.
    public init(upperBound: Double, cumulativeCount: UInt64) {
        self.upperBound = upperBound
        self.cumulativeCount = cumulativeCount
    }
}

/// One series of a ``MetricsRegistry`` at the moment of ``MetricsRegistry/snapshot()``.
public struct MetricSample: Sendable, Hashable {
    /// The Prometheus family name: `warden_check_duration_seconds`.
    public var name: String
    /// The swift-metrics label the series was made with: `warden.check.duration`.
    public var label: String
    /// What kind of metric this is.
    public var kind: MetricKind
    /// The dimensions, by their Prometheus label names.
    public var labels: [String: String]
    /// A counter's total or a gauge's value; 0 for histograms and timers.
    public var value: Double
    /// A histogram's or timer's number of observations; 0 for counters and gauges.
    public var count: UInt64
    /// A histogram's or timer's sum of observations (seconds for a timer); 0 for counters and
    /// gauges.
    public var sum: Double
    /// A histogram's or timer's buckets, cumulative, ending with `+Inf`; empty for counters
    /// and gauges.
    public var buckets: [HistogramBucket]

    /// A sample.
    public init(
        name: String,
        label: String,
        kind: MetricKind,
        labels: [String: String],
        value: Double = 0,
        count: UInt64 = 0,
        sum: Double = 0,
        buckets: [HistogramBucket] = []
    ) {
        self.name = name
        self.label = label
        self.kind = kind
        self.labels = labels
        self.value = value
        self.count = count
        self.sum = sum
        self.buckets = buckets
    }
}

extension MetricsRegistry {
    /// Every series, sorted by family name and then by labels (the order of
    /// ``prometheusText()``).
    ///
    /// Each series is read under its own lock, so a histogram's buckets, count and sum agree;
    /// different series may be read a moment apart.
    public func snapshot() -> [MetricSample] {
        var samples: [MetricSample] = []
        for (name, family) in Self.sorted(self.currentFamilies()) {
            for (labels, series) in Self.sorted(family.series) {
                var sample = MetricSample(name: name, label: series.label, kind: family.kind, labels: labels.dictionary)
                switch series.box {
                case .counter(let box):
                    let value = box.value
                    sample.value = Double(value.integer) + value.fraction
                case .gauge(let box):
                    sample.value = box.value
                case .histogram(let box):
                    let state = box.value
                    sample.count = state.count
                    sample.sum = state.sum
                    sample.buckets = Self.cumulativeBuckets(bounds: box.bounds, counts: state.counts)
                }
                samples.append(sample)
            }
        }
        return samples
    }

    /// The buckets of a histogram with cumulative counts, the last one `+Inf`.
    static func cumulativeBuckets(bounds: [Double], counts: [UInt64]) -> [HistogramBucket] {
        var total: UInt64 = 0
        return counts.enumerated().map { index, count in
            total &+= count
            return HistogramBucket(upperBound: index < bounds.count ? bounds[index] : .infinity, cumulativeCount: total)
        }
    }

    /// Families in byte order of name.
    static func sorted(_ families: [String: Family]) -> [(String, Family)] {
        families.sorted { LabelSet.byteOrder($0.key, $1.key) }.map { ($0.key, $0.value) }
    }

    /// Series in order of their labels.
    static func sorted(_ series: [LabelSet: Series]) -> [(LabelSet, Series)] {
        series.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
