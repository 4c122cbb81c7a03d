import Foundation
import Logging

/// A `LogHandler` that writes one JSON object per line ("JSON lines"), for log collectors:
///
/// ```json
/// {"label":"warden","level":"info","message":"check allowed","metadata":{"user":"joe"},"source":"WardenService","time":"2026-11-22T17:30:00.123Z"}
/// ```
///
/// Every line has the keys `time` (ISO 8601, UTC, milliseconds), `level`, `label`, `message`,
/// `source` and `metadata`, an object that is empty when a record has no metadata. Metadata
/// values keep their shape: a string or string-convertible value becomes a JSON string, an
/// array an array, a dictionary an object. Keys are sorted at every depth and `JSONEncoder`
/// does the escaping, so output is valid, deterministic, and one line per record whatever the
/// message holds.
///
/// Metadata comes from three places, later ones winning on a shared key: the handler's
/// ``metadata``, its ``metadataProvider``, and the log statement.
public typealias JSONLogHandler = LineLogHandler<JSONLayout>

/// The layout of ``JSONLogHandler``.
public enum JSONLayout: LogLineLayout {
    /// The JSON object for `event`, on one line, without a trailing newline.
    public static func line(_ event: LogEvent, metadata: Logger.Metadata, label: String, time: Date) -> String {
        let record: [String: JSONValue] = [
            "time": .string(LogRecordSupport.timestamp(time)),
            "level": .string(event.level.rawValue),
            "label": .string(label),
            "message": .string(event.message.description),
            "source": .string(event.source),
            "metadata": .object(metadata.mapValues(JSONValue.init)),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(record), as: UTF8.self)
        } catch {
            // Strings, arrays and objects always encode; keep a record even if that changes.
            return #"{"level":"error","message":"JSONLogHandler: record could not be encoded"}"#
        }
    }
}

/// The JSON shapes a log record uses: strings, arrays and objects.
enum JSONValue: Encodable, Equatable {
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A metadata value in JSON: string-convertible values become their description.
    init(_ value: Logger.Metadata.Value) {
        switch value {
        case .string(let string): self = .string(string)
        case .stringConvertible(let convertible): self = .string(convertible.description)
        case .array(let values): self = .array(values.map(JSONValue.init))
        case .dictionary(let dictionary): self = .object(dictionary.mapValues(JSONValue.init))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let string): try container.encode(string)
        case .array(let values): try container.encode(values)
        case .object(let object): try container.encode(object)
        }
    }
}
