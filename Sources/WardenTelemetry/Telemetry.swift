import CoreMetrics
import Logging

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
/// Handlers and the registry are plain values and objects: tests and embedders build them
/// directly (``makeLogHandler(label:format:level:metadataProvider:sink:)``,
/// `MetricsRegistry()`); only the executable calls the `bootstrap` methods, which change
/// process-wide state and may run once per process.
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

    /// Makes every `Counter`, `Gauge`, `Recorder`, `Meter` and `Timer` of the process record
    /// into `registry`, and returns it for the `/metrics` endpoint to render.
    ///
    /// Calls `MetricsSystem.bootstrap`, which may run once per process.
    @discardableResult
    public static func bootstrapMetrics(_ registry: MetricsRegistry = MetricsRegistry()) -> MetricsRegistry {
        MetricsSystem.bootstrap(registry)
        return registry
    }
}
