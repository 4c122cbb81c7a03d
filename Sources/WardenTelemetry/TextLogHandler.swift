import Foundation
import Logging

/// A `LogHandler` that writes one human-readable line per record:
///
/// ```text
/// 2026-11-22T17:30:00.123Z info warden: check allowed key=value user="joe smith" [WardenService]
/// ```
///
/// The parts, in order: the time (ISO 8601, UTC, milliseconds), the level, the logger label and
/// a colon, the message, the metadata as `key=value` pairs sorted by key, and the source module
/// in brackets. Newlines and other control characters in the message are escaped, and a
/// metadata value that is empty or holds spaces, `"`, `=`, `\` or control characters is quoted,
/// so one record is always one line and the pairs split unambiguously. Nested metadata
/// (arrays, dictionaries) is written with swift-log's own description, then quoted.
///
/// Metadata comes from three places, later ones winning on a shared key: the handler's
/// ``metadata``, its ``metadataProvider``, and the log statement.
public struct TextLogHandler: LogHandler {
    /// The label of the logger this handler serves, written after the level.
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
        var line = LogRecordSupport.timestamp(self.clock())
        line += " "
        line += event.level.rawValue
        line += " "
        line += self.label
        line += ": "
        line += LogRecordSupport.escapeControlCharacters(event.message.description, quote: false)
        for key in LogRecordSupport.sortedKeys(metadata) {
            guard let value = metadata[key] else { continue }
            line += " "
            line += LogRecordSupport.textToken(key)
            line += "="
            line += LogRecordSupport.textToken(Self.describe(value))
        }
        line += " ["
        line += event.source
        line += "]"
        return line
    }

    /// A metadata value as text: strings as they are, nested values with sorted keys so the
    /// line does not depend on dictionary order.
    static func describe(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string):
            return string
        case .stringConvertible(let convertible):
            return convertible.description
        case .array(let values):
            return "[" + values.map(describe).joined(separator: ", ") + "]"
        case .dictionary(let dictionary):
            let pairs = LogRecordSupport.sortedKeys(dictionary).map { key in
                "\(key): \(describe(dictionary[key]!))"
            }
            return "[" + pairs.joined(separator: ", ") + "]"
        }
    }
}
