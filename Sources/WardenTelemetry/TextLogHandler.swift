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
public typealias TextLogHandler = LineLogHandler<TextLayout>

/// The layout of ``TextLogHandler``.
public enum TextLayout: LogLineLayout {
    /// The line for `event`, without a trailing newline.
    public static func line(_ event: LogEvent, metadata: Logger.Metadata, label: String, time: Date) -> String {
        var line = LogRecordSupport.timestamp(time)
        line += " "
        line += event.level.rawValue
        line += " "
        line += label
        line += ": "
        line += LogRecordSupport.escapeControlCharacters(event.message.description, quote: false)
        for key in LogRecordSupport.sortedKeys(metadata) {
            guard let value = metadata[key] else { continue }
            line += " "
            line += LogRecordSupport.textToken(key)
            line += "="
            line += LogRecordSupport.textToken(describe(value))
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
