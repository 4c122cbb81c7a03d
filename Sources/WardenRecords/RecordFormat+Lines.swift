import Foundation
import WardenProto

extension RecordFormat {
    /// The line before the records: CSV's header; `nil` for JSON lines.
    public func header() -> String? { self == .csv ? Self.csvColumns.joined(separator: ",") : nil }

    /// A record as one line of the file (without its newline).
    public func line(_ record: Warden_V1_Record) -> String {
        let fields = Self.fields(record)
        switch self {
        case .jsonl:
            let data =
                (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data()
            return String(decoding: data, as: UTF8.self)
        case .csv:
            return Self.csvColumns.map { column -> String in
                switch fields[column] {
                case let list as [String]: Self.quote(list.joined(separator: " "))
                case let bool as Bool: bool ? "true" : "false"
                case let text as String: Self.quote(text)
                default: ""
                }
            }.joined(separator: ",")
        }
    }

    /// A CSV field, quoted when it must be. By scalar: "\r\n" is one Character, equal to neither
    /// "\r" nor "\n", and a quote followed by a combining mark is one Character too.
    static func quote(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else {
            return field
        }
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in field.unicodeScalars {
            if scalar == "\"" { quoted.append("\"") }
            quoted.append(scalar)
        }
        quoted.append("\"")
        return String(quoted)
    }

    /// Reads every record of a file; the first bad line throws.
    public func records(from text: String) throws(RecordFormatError) -> [Warden_V1_Record] {
        var records: [Warden_V1_Record] = []
        switch self {
        case .jsonl:
            // "\r\n" is one Character in Swift: a file with CRLF line ends splits on it too.
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            for (number, line) in lines.enumerated() {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw RecordFormatError(line: number + 1, field: nil, message: "not a JSON object")
                }
                records.append(try Self.record(object, line: number + 1))
            }
        case .csv:
            let rows = Self.csvRows(text)
            guard let header = rows.first else { return [] }
            for column in header where !Self.csvColumns.contains(column) {
                throw RecordFormatError(
                    line: 1,
                    field: column,
                    message: "unknown column \"\(column)\" (columns: \(Self.csvColumns.joined(separator: ",")))"
                )
            }
            for (number, row) in rows.dropFirst().enumerated() where !(row.count == 1 && row[0].isEmpty) {
                var fields: [String: Any] = [:]
                for (column, value) in zip(header, row) where !value.isEmpty { fields[column] = value }
                records.append(try Self.record(fields, line: number + 2))
            }
        }
        return records
    }

    /// RFC 4180 rows: quoted fields may hold commas, quotes (doubled) and newlines. Read by
    /// scalar, not by Character: a combining mark after a comma or a quote joins it in one
    /// Character, which would hide the delimiter.
    static func csvRows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = String.UnicodeScalarView()
        var quoted = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar?
        while let scalar = pending ?? scalars.next() {
            pending = nil
            if quoted {
                if scalar == "\"" {
                    let next = scalars.next()
                    if next == "\"" {
                        field.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    field.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty: quoted = true
            case ",":
                row.append(String(field))
                field = .init()
            case "\n":
                row.append(String(field))
                field = .init()
                rows.append(row)
                row = []
            case "\r": break
            default: field.append(scalar)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(String(field))
            rows.append(row)
        }
        return rows
    }
}
