import CoreMetrics
import WardenSync

/// An in-process, thread-safe `MetricsFactory` that keeps every metric in memory for the
/// `/metrics` endpoint to render (``prometheusText()``) and other code to read (``snapshot()``).
///
/// What each swift-metrics type becomes:
///
/// | swift-metrics                          | kept as                            | ``MetricKind`` |
/// |----------------------------------------|------------------------------------|----------------|
/// | `Counter`, `FloatingPointCounter`      | a running total                    | `.counter`     |
/// | `Gauge` (`Recorder`, `aggregate: false`), `Meter` | the last value          | `.gauge`       |
/// | `Recorder` (`aggregate: true`)         | a histogram over ``recorderBuckets`` | `.histogram` |
/// | `Timer`                                | a histogram in seconds over ``timerBuckets`` | `.timer` |
///
/// A metric is identified by its label and dimensions; the order of the dimensions does not
/// matter. Making the same metric twice returns the same handler, so two `Counter`s with one
/// label count together. Destroying a metric removes it from the registry; handlers still held
/// keep working but are no longer reported.
///
/// Labels become Prometheus names (see ``prometheusText()``). If a label is reused for a
/// different kind of metric (a counter and a gauge both named `warden.requests`), the first
/// registration keeps the name and the later one gets a working handler that is not reported,
/// because one Prometheus family cannot hold two types.
///
/// Updates lock only the series they touch; making, destroying and rendering lock the
/// registry.
public final class MetricsRegistry: MetricsFactory, Sendable {
    /// Timer buckets in seconds, for request latencies from 10 µs to 10 s.
    public static let defaultTimerBuckets: [Double] = [
        0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005,
        0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    /// Buckets for aggregating recorders, whose values have no unit: 1, 2.5 and 5 times each
    /// power of ten from 1 to 1,000,000 (sizes, counts, batch lengths).
    public static let defaultRecorderBuckets: [Double] = [
        1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000,
        100_000, 250_000, 500_000, 1_000_000,
    ]

    /// The upper bounds of every timer's buckets, in seconds, increasing; `+Inf` is implied.
    public let timerBuckets: [Double]

    /// The upper bounds of every aggregating recorder's buckets, increasing; `+Inf` is implied.
    public let recorderBuckets: [Double]

    /// Families by Prometheus name.
    private let families = Locked<[String: Family]>([:])

    /// A family: one Prometheus name and type, and its series by label set.
    struct Family: Sendable {
        let kind: MetricKind
        var series: [LabelSet: Series] = [:]
    }

    /// One series: the swift-metrics label it was first made with, and its storage.
    struct Series: Sendable {
        let label: String
        let box: MetricBox
    }

    /// An empty registry.
    ///
    /// - Parameters:
    ///   - timerBuckets: Upper bounds for timers, in seconds.
    ///   - recorderBuckets: Upper bounds for aggregating recorders.
    ///
    /// Bounds are sorted and deduplicated; infinite and NaN bounds are dropped, since `+Inf`
    /// is always the last bucket.
    public init(
        timerBuckets: [Double] = MetricsRegistry.defaultTimerBuckets,
        recorderBuckets: [Double] = MetricsRegistry.defaultRecorderBuckets
    ) {
        self.timerBuckets = Self.normalize(timerBuckets)
        self.recorderBuckets = Self.normalize(recorderBuckets)
    }

    private static func normalize(_ bounds: [Double]) -> [Double] {
        Array(Set(bounds.filter(\.isFinite))).sorted()
    }

    // MARK: MetricsFactory

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        self.counter(label: label, dimensions: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        self.counter(label: label, dimensions: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        if aggregate {
            return self.histogram(label: label, dimensions: dimensions, kind: .histogram, bounds: self.recorderBuckets)
        }
        return self.gauge(label: label, dimensions: dimensions)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        self.gauge(label: label, dimensions: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        self.histogram(label: label, dimensions: dimensions, kind: .timer, bounds: self.timerBuckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let box = handler as? CounterBox { self.remove(name: box.name, labels: box.labels, box: box) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let box = handler as? CounterBox { self.remove(name: box.name, labels: box.labels, box: box) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let box = handler as? GaugeBox {
            self.remove(name: box.name, labels: box.labels, box: box)
        } else if let box = handler as? HistogramBox {
            self.remove(name: box.name, labels: box.labels, box: box)
        }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let box = handler as? GaugeBox { self.remove(name: box.name, labels: box.labels, box: box) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let box = handler as? HistogramBox { self.remove(name: box.name, labels: box.labels, box: box) }
    }

    // MARK: Registration

    private func counter(label: String, dimensions: [(String, String)]) -> CounterBox {
        let name = MetricIdentity.familyName(label: label, kind: .counter)
        let labels = LabelSet(dimensions)
        let box = self.register(label: label, name: name, labels: labels, kind: .counter) {
            .counter(CounterBox(name: name, labels: labels))
        }
        guard case .counter(let counter) = box else { return CounterBox(name: name, labels: labels) }
        return counter
    }

    private func gauge(label: String, dimensions: [(String, String)]) -> GaugeBox {
        let name = MetricIdentity.familyName(label: label, kind: .gauge)
        let labels = LabelSet(dimensions)
        let box = self.register(label: label, name: name, labels: labels, kind: .gauge) {
            .gauge(GaugeBox(name: name, labels: labels))
        }
        guard case .gauge(let gauge) = box else { return GaugeBox(name: name, labels: labels) }
        return gauge
    }

    private func histogram(label: String, dimensions: [(String, String)], kind: MetricKind, bounds: [Double]) -> HistogramBox {
        let name = MetricIdentity.familyName(label: label, kind: kind)
        let labels = LabelSet(dimensions, histogram: true)
        let box = self.register(label: label, name: name, labels: labels, kind: kind) {
            .histogram(HistogramBox(name: name, labels: labels, bounds: bounds))
        }
        guard case .histogram(let histogram) = box else { return HistogramBox(name: name, labels: labels, bounds: bounds) }
        return histogram
    }

    /// The series `labels` of family `name`, made with `make` if it does not exist yet.
    ///
    /// When `name` already belongs to a family of another kind, the new box is returned
    /// without being registered: the caller's metric works, and the exposition stays valid.
    private func register(
        label: String,
        name: String,
        labels: LabelSet,
        kind: MetricKind,
        make: () -> MetricBox
    ) -> MetricBox {
        self.families.withLock { families in
            if let family = families[name] {
                guard family.kind == kind else { return make() }
                if let series = family.series[labels] { return series.box }
            }
            let box = make()
            families[name, default: Family(kind: kind)].series[labels] = Series(label: label, box: box)
            return box
        }
    }

    /// Removes the series `labels` of family `name` if `box` is its storage, and the family
    /// with its last series. Destroying a handler that was never registered, or was already
    /// destroyed and made again, removes nothing.
    private func remove(name: String, labels: LabelSet, box: AnyObject) {
        self.families.withLock { families in
            guard let series = families[name]?.series[labels], series.box.object === box else { return }
            families[name]?.series[labels] = nil
            if families[name]?.series.isEmpty == true { families[name] = nil }
        }
    }

    /// A copy of every family, taken under the registry lock; the values inside the boxes keep
    /// changing and are read one series at a time.
    func currentFamilies() -> [String: Family] {
        self.families.withLock { $0 }
    }
}

extension MetricBox {
    /// The box itself, for identity checks.
    var object: AnyObject {
        switch self {
        case .counter(let box): return box
        case .gauge(let box): return box
        case .histogram(let box): return box
        }
    }
}
