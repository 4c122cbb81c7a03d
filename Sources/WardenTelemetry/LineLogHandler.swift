import Foundation
import Logging

/// How a ``LineLogHandler`` turns a record into one line.
public protocol LogLineLayout: Sendable {
    /// The line for `event`, without a trailing newline, with the merged `metadata`.
    static func line(_ event: LogEvent, metadata: Logger.Metadata, label: String, time: Date) -> String
}

/// A `LogHandler` that writes one line per record to a ``LogSink``, laid out by `Layout`:
/// ``TextLogHandler`` for people, ``JSONLogHandler`` for log collectors. The two differ only in
/// their layout; everything else (levels, metadata, the sink, the clock) is this one type.
///
/// Metadata comes from three places, later ones winning on a shared key: the handler's
/// ``metadata``, its ``metadataProvider``, and the log statement.
public struct LineLogHandler<Layout: LogLineLayout>: LogHandler {
    /// The label of the logger this handler serves.
    public let label: String

    /// Records below this level are dropped. `Logger` checks it before calling the handler;
    /// ``log(event:)`` checks it again so direct calls behave the same.
    public var logLevel: Logger.Level

    /// Metadata attached to every record of this handler.
    public var metadata: Logger.Metadata

    /// Called for every record; its metadata overrides ``metadata`` on a shared key.
    public var metadataProvider: Logger.MetadataProvider?

    /// Where finished lines go.
    public let sink: LogSink

    /// The clock stamping each record; tests replace it to get fixed times.
    var clock: @Sendable () -> Date = { Date() }

    /// A handler for the logger `label`.
    ///
    /// - Parameters:
    ///   - label: The logger's label, written in every line.
    ///   - level: The lowest level written; `.info` unless told.
    ///   - metadata: Metadata attached to every record.
    ///   - metadataProvider: Called for every record, for contextual metadata (a request id).
    ///   - sink: Where lines go; standard error unless told.
    public init(
        label: String,
        level: Logger.Level = .info,
        metadata: Logger.Metadata = [:],
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: LogSink = .standardError
    ) {
        self.label = label
        self.logLevel = level
        self.metadata = metadata
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    /// One metadata value of this handler.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    /// Formats `event` and hands the line to the sink, unless its level is below ``logLevel``.
    public func log(event: LogEvent) {
        guard event.level >= self.logLevel else { return }
        self.sink.write(self.format(event))
    }

    /// The line for `event`, without a trailing newline.
    func format(_ event: LogEvent) -> String {
        let metadata = LogRecordSupport.metadata(handler: self.metadata, provider: self.metadataProvider, event: event)
        return Layout.line(event, metadata: metadata, label: self.label, time: self.clock())
    }
}
