import CoreMetrics
import WardenSync

/// The storage behind one series of a ``MetricsRegistry``; the handlers swift-metrics calls.
///
/// Each box has its own lock, so updates to different series never contend, and remembers its
/// family name and labels so `destroy` can find it again.
enum MetricBox: Sendable {
    case counter(CounterBox)
    case gauge(GaugeBox)
    case histogram(HistogramBox)
}

/// A counter: the `Counter` and `FloatingPointCounter` handler of one series.
///
/// Integer and floating-point increments are kept apart so an integer counter stays exact past
/// 2^53. Negative, NaN and infinite increments are ignored: a Prometheus counter only goes up.
final class CounterBox: CounterHandler, FloatingPointCounterHandler, Sendable {
    let name: String
    let labels: LabelSet
    private let state = Locked<(integer: Int64, fraction: Double)>((0, 0))

    init(name: String, labels: LabelSet) {
        self.name = name
        self.labels = labels
    }

    func increment(by amount: Int64) {
        guard amount > 0 else { return }
        self.state.withLock { state in
            let (sum, overflow) = state.integer.addingReportingOverflow(amount)
            state.integer = overflow ? .max : sum
        }
    }

    func increment(by amount: Double) {
        guard amount > 0, amount.isFinite else { return }
        self.state.withLock { $0.fraction += amount }
    }

    func reset() {
        self.state.withLock { $0 = (0, 0) }
    }

    /// The integer and floating-point parts of the total, read together.
    var value: (integer: Int64, fraction: Double) {
        self.state.withLock { $0 }
    }
}

/// A gauge: the handler of a `Gauge` (a recorder that keeps the last value) and of a `Meter`.
final class GaugeBox: RecorderHandler, MeterHandler, Sendable {
    let name: String
    let labels: LabelSet
    private let state = Locked<Double>(0)

    init(name: String, labels: LabelSet) {
        self.name = name
        self.labels = labels
    }

    func record(_ value: Int64) { self.set(Double(value)) }
    func record(_ value: Double) { self.set(value) }
    func set(_ value: Int64) { self.set(Double(value)) }
    func set(_ value: Double) { self.state.withLock { $0 = value } }
    func increment(by amount: Double) { self.state.withLock { $0 += amount } }
    func decrement(by amount: Double) { self.state.withLock { $0 -= amount } }

    /// The current value.
    var value: Double {
        self.state.withLock { $0 }
    }
}

/// The counts of a histogram at one moment, all read under one lock.
struct HistogramState: Sendable {
    /// Observations per bucket, not cumulative; one more entry than there are bounds, the last
    /// for values above every bound (the `+Inf` bucket).
    var counts: [UInt64]
    var sum: Double = 0
    var count: UInt64 = 0
}

/// A histogram: the handler of an aggregating `Recorder` and of a `Timer`, which records
/// seconds.
final class HistogramBox: RecorderHandler, TimerHandler, Sendable {
    let name: String
    let labels: LabelSet
    /// Upper bounds, increasing and finite; `+Inf` is implied.
    let bounds: [Double]
    private let state: Locked<HistogramState>

    init(name: String, labels: LabelSet, bounds: [Double]) {
        self.name = name
        self.labels = labels
        self.bounds = bounds
        self.state = Locked(HistogramState(counts: Array(repeating: 0, count: bounds.count + 1)))
    }

    func record(_ value: Int64) { self.observe(Double(value)) }
    func record(_ value: Double) { self.observe(value) }

    /// Records a duration, in seconds.
    func recordNanoseconds(_ duration: Int64) {
        self.observe(Double(duration) / 1_000_000_000)
    }

    /// Adds `value` to the first bucket whose bound is at least `value` (`le` is inclusive),
    /// or to `+Inf`; NaN lands in `+Inf` too.
    func observe(_ value: Double) {
        var low = 0
        var high = self.bounds.count
        while low < high {
            let middle = (low + high) / 2
            if self.bounds[middle] >= value { high = middle } else { low = middle + 1 }
        }
        self.state.withLock { state in
            state.counts[low] &+= 1
            state.count &+= 1
            state.sum += value
        }
    }

    /// The counts, sum and count, consistent with each other.
    var value: HistogramState {
        self.state.withLock { $0 }
    }
}
