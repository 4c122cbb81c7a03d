import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the text and JSON handlers share: the timestamp, the metadata of one record, and the
/// order of its keys.
enum LogRecordSupport {
    /// `2026-11-22T17:30:00.123Z`: ISO 8601 in UTC with milliseconds, the way both handlers
    /// stamp a record.
    ///
    /// Built with `gmtime_r` rather than a formatter: it is thread-safe, allocation-light and
    /// independent of the process locale.
    static func timestamp(_ date: Date) -> String {
        // Whole microseconds first: a Double of seconds since 1970 cannot hold .123 exactly,
        // and truncating it straight to milliseconds would print .122.
        let microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = microseconds / 1_000_000
        var fraction = microseconds % 1_000_000
        if fraction < 0 {
            seconds -= 1
            fraction += 1_000_000
        }
        let milliseconds = Int(fraction / 1000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-"
            + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(milliseconds, 3) + "Z"
    }

    /// `value` in decimal, left-padded with zeros to `width` digits.
    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// The metadata of one record, later sources winning on a shared key: the handler's own
    /// metadata, then the metadata provider's, then the log statement's. An error attached to
    /// the statement adds `error.message` and `error.type`, as swift-log's `StreamLogHandler`
    /// does.
    static func metadata(
        handler: Logger.Metadata,
        provider: Logger.MetadataProvider?,
        event: LogEvent
    ) -> Logger.Metadata {
        var metadata = handler
        if let provided = provider?.get(), !provided.isEmpty {
            metadata.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            metadata.merge(explicit) { _, new in new }
        }
        if let error = event.error {
            metadata["error.message"] = .string("\(error)")
            metadata["error.type"] = .string(String(reflecting: type(of: error)))
        }
        return metadata
    }

    /// The keys of `metadata` in byte order of their UTF-8, so output never depends on
    /// dictionary order or the locale.
    static func sortedKeys(_ metadata: Logger.Metadata) -> [String] {
        metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// A text-format token: returned as is when it is non-empty and holds nothing but printable
    /// characters other than space, `"` and `=`; otherwise quoted, with `\`, `"` and control
    /// characters escaped, so one record always stays on one line and `key=value` pairs split
    /// unambiguously.
    static func textToken(_ value: String) -> String {
        let plain =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy { scalar in
                scalar.value > 0x20 && scalar.value != 0x7F && scalar != "\"" && scalar != "=" && scalar != "\\"
            }
        if plain { return value }
        return "\"" + escapeControlCharacters(value, quote: true) + "\""
    }

    /// `value` with newlines, tabs, other control characters and, when `quote` is set, `"` and
    /// `\` escaped; used for the free-text message of a text record.
    static func escapeControlCharacters(_ value: String, quote: Bool) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\"" where quote: result += "\\\""
            case "\\" where quote: result += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\u{" + String(scalar.value, radix: 16) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
