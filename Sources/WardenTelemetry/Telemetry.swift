import CoreMetrics
import Logging
import Prometheus

/// The two line formats Warden logs in: ``text`` for people at a terminal, ``json`` (JSON
/// lines) for log collectors. The raw values are what a command-line flag or environment
/// variable spells, so `LogFormat(rawValue: "json")` parses one.
public enum LogFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// One ``TextLogHandler`` line per record.
    case text
    /// One ``JSONLogHandler`` object per line.
    case json

    /// The raw value: `text` or `json`.
    public var description: String { self.rawValue }
}

/// The entry points the `warden` executable uses to set up logging and metrics.
///
/// Handlers and the metrics factory are plain values: tests and embedders build them directly
/// (``makeLogHandler(label:format:level:metadataProvider:sink:)``,
/// ``makeMetricsFactory(registry:)``); only the executable calls the `bootstrap` methods, which
/// change process-wide state and may run once per process.
public enum Telemetry {
    /// A log handler for the logger `label` in the given format.
    ///
    /// - Parameters:
    ///   - label: The logger's label.
    ///   - format: Text or JSON lines.
    ///   - level: The lowest level written.
    ///   - metadataProvider: Called for every record, for contextual metadata.
    ///   - sink: Where lines go; standard error unless told.
    public static func makeLogHandler(
        label: String,
        format: LogFormat,
        level: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: LogSink = .standardError
    ) -> any LogHandler {
        switch format {
        case .text:
            return TextLogHandler(label: label, level: level, metadataProvider: metadataProvider, sink: sink)
        case .json:
            return JSONLogHandler(label: label, level: level, metadataProvider: metadataProvider, sink: sink)
        }
    }

    /// Makes every `Logger` of the process write `format` lines at `level` and above to `sink`.
    ///
    /// Calls `LoggingSystem.bootstrap`, which may run once per process; the metadata provider,
    /// if any, becomes the process-wide `LoggingSystem.metadataProvider` too.
    public static func bootstrapLogging(
        format: LogFormat,
        level: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: LogSink = .standardError
    ) {
        LoggingSystem.bootstrap(
            { label, provider in
                makeLogHandler(label: label, format: format, level: level, metadataProvider: provider, sink: sink)
            },
            metadataProvider: metadataProvider
        )
    }

    /// Timer buckets, for request latencies from 10 µs to 10 s: swift-prometheus's default
    /// (5 ms to 10 s) cannot tell a 20 µs check from a 4 ms one.
    public static let timerBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// Buckets for aggregating recorders, whose values have no unit: 1, 2.5 and 5 times each
    /// power of ten from 1 to 1,000,000 (sizes, counts, batch lengths).
    public static let recorderBuckets: [Double] = [
        1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000,
        100_000, 250_000, 500_000, 1_000_000,
    ]

    /// swift-prometheus's `MetricsFactory` over `registry`, with Warden's buckets: every `Timer`
    /// a histogram in seconds over ``timerBuckets``, every aggregating `Recorder` one over
    /// ``recorderBuckets``; a `Counter` a counter; a `Gauge` and a `Meter` a gauge.
    ///
    /// A swift-metrics label is the Prometheus name with `.` (and any other character outside
    /// `[a-zA-Z0-9_:]`) turned into `_`: `warden.request.duration.seconds` is
    /// `warden_request_duration_seconds`; swift-prometheus adds no suffix (no `_total`, no unit),
    /// so a label names its unit itself. One name holds one kind of metric: registering a gauge
    /// under a counter's name stops the process (swift-prometheus's `fatalError`).
    public static func makeMetricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = timerBuckets
        factory.defaultValueHistogramBuckets = recorderBuckets
        return factory
    }

    /// Makes every `Counter`, `Gauge`, `Recorder`, `Meter` and `Timer` of the process record
    /// into `registry` (``makeMetricsFactory(registry:)``), and returns it for `/metrics` and the
    /// Stats RPC to render (`emitToString()`, `emitToBuffer()`).
    ///
    /// Calls `MetricsSystem.bootstrap`, which may run once per process.
    @discardableResult
    public static func bootstrapMetrics(
        _ registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) -> PrometheusCollectorRegistry {
        MetricsSystem.bootstrap(makeMetricsFactory(registry: registry))
        return registry
    }
}
