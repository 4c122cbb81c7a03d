import Foundation
import WardenClient
import WardenProto

/// The file format of `warden import` and `warden export` (docs/cli.md): one record per line,
/// as JSON lines (`{"kind": "grant", ...}`) or as CSV with a header row.
enum RecordFormat: String, CaseIterable {
    case jsonl, csv

    static let csvColumns = ["kind", "user", "group", "username", "is_active", "is_superuser", "content_type", "codenames", "perm", "pk"]

    /// A record as the flat fields both formats share.
    static func fields(_ record: Warden_V1_Record) -> [String: Any] {
        switch record.record {
        case .contentType(let type)?:
            var fields: [String: Any] = ["kind": "content_type", "content_type": type.contentType, "codenames": type.custom]
            if type.hasDefaults && !type.defaults { fields["defaults"] = false }
            return fields
        case .user(let user)?:
            var fields: [String: Any] = ["kind": "user", "user": user.id, "is_active": !user.hasIsActive || user.isActive, "is_superuser": user.isSuperuser]
            if user.hasUsername { fields["username"] = user.username }
            return fields
        case .group(let name)?: return ["kind": "group", "group": name]
        case .member(let member)?: return ["kind": "member", "user": member.user, "group": member.group]
        case .grant(let grant)?:
            var fields: [String: Any] = ["kind": "grant", "perm": grant.permission, "content_type": grant.contentType]
            switch grant.subject.kind {
            case .user(let id)?: fields["user"] = id
            case .group(let name)?: fields["group"] = name
            case nil: break
            }
            if grant.hasPk { fields["pk"] = grant.pk }
            return fields
        case nil: return [:]
        }
    }

    /// A record from flat fields; the error names the line and the field.
    static func record(_ fields: [String: Any], line: Int) throws -> Warden_V1_Record {
        func string(_ key: String) -> String? { fields[key] as? String }
        func required(_ key: String) throws -> String {
            guard let value = string(key), !value.isEmpty else { throw CommandError("line \(line): \"\(key)\" is required for a \(fields["kind"] ?? "record")") }
            return value
        }
        func flag(_ key: String, default value: Bool) throws -> Bool {
            switch fields[key] {
            case nil: return value
            case let bool as Bool: return bool
            case let text as String where text.isEmpty: return value
            case let text as String where ["true", "1", "yes"].contains(text.lowercased()): return true
            case let text as String where ["false", "0", "no"].contains(text.lowercased()): return false
            default: throw CommandError("line \(line): \"\(key)\" must be true or false")
            }
        }
        var record = Warden_V1_Record()
        switch string("kind") {
        case "content_type":
            var type = Warden_V1_RegisterContentTypeRequest()
            type.contentType = try required("content_type")
            // "codenames": exactly these (what export writes); "custom": the four defaults and these.
            func list(_ key: String) -> [String]? {
                switch fields[key] {
                case let list as [String]: list
                case let text as String: text.split(separator: " ").map(String.init)
                default: nil
                }
            }
            let exact = list("codenames")
            type.custom = exact ?? list("custom") ?? []
            type.defaults = try flag("defaults", default: exact == nil)
            record.contentType = type
        case "user":
            var user = Warden_V1_User()
            user.id = try required("user")
            if let username = string("username"), !username.isEmpty { user.username = username }
            user.isActive = try flag("is_active", default: true)
            user.isSuperuser = try flag("is_superuser", default: false)
            record.user = user
        case "group":
            record.group = try required("group")
        case "member":
            var member = Warden_V1_MemberRequest()
            member.user = try required("user")
            member.group = try required("group")
            record.member = member
        case "grant":
            var grant = Warden_V1_Grant()
            if let user = string("user"), !user.isEmpty {
                grant.subject = .user(user)
            } else {
                grant.subject = .group(try required("group"))
            }
            grant.permission = try required("perm")
            if let type = string("content_type"), !type.isEmpty { grant.contentType = type }
            if let pk = string("pk"), !pk.isEmpty { grant.pk = pk }
            record.grant = grant
        default:
            throw CommandError("line \(line): \"kind\" must be content_type, user, group, member or grant")
        }
        return record
    }

    // MARK: Lines

    func header() -> String? { self == .csv ? Self.csvColumns.joined(separator: ",") : nil }

    func line(_ record: Warden_V1_Record) -> String {
        let fields = Self.fields(record)
        switch self {
        case .jsonl: return jsonLine(fields)
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

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Reads every record of a file.
    func records(from text: String) throws -> [Warden_V1_Record] {
        var records: [Warden_V1_Record] = []
        switch self {
        case .jsonl:
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw CommandError("line \(number + 1): not a JSON object")
                }
                records.append(try Self.record(object, line: number + 1))
            }
        case .csv:
            let rows = Self.csvRows(text)
            guard let header = rows.first else { return [] }
            for column in header where !Self.csvColumns.contains(column) {
                throw CommandError("line 1: unknown column \"\(column)\" (columns: \(Self.csvColumns.joined(separator: ",")))")
            }
            for (number, row) in rows.dropFirst().enumerated() where !(row.count == 1 && row[0].isEmpty) {
                var fields: [String: Any] = [:]
                for (column, value) in zip(header, row) where !value.isEmpty { fields[column] = value }
                records.append(try Self.record(fields, line: number + 2))
            }
        }
        return records
    }

    /// RFC 4180 rows: quoted fields may hold commas, quotes (doubled) and newlines.
    static func csvRows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = text.makeIterator()
        var pending: Character?
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    let next = characters.next()
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty: quoted = true
            case ",": row.append(field); field = ""
            case "\n", "\r\n":
                row.append(field); field = ""
                rows.append(row); row = []
            case "\r": break
            default: field.append(character)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
