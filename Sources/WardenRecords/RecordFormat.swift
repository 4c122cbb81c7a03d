import Foundation
import WardenProto

/// The file format of `warden import` and `warden export` (docs/cli.md): one record per line,
/// as JSON lines (`{"kind": "grant", ...}`) or as CSV with a header row. Parsing is pure (text in,
/// records or a `RecordFormatError` out), so the CLI and the fuzzer run the same code.
public enum RecordFormat: String, CaseIterable, Sendable {
    /// One JSON object per line.
    case jsonl
    /// RFC 4180 CSV with the header row `csvColumns`.
    case csv

    /// The CSV header's columns, in the order `export` writes them. A file's header may name any
    /// of them in any order (files written before `defaults` existed lack it).
    public static let csvColumns = [
        "kind", "user", "group", "username", "is_active", "is_superuser", "content_type", "codenames", "perm", "pk",
        "defaults",
    ]

    /// A record as the flat fields both formats share.
    public static func fields(_ record: Warden_V1_Record) -> [String: Any] {
        switch record.record {
        case .contentType(let type)?:
            // Both keys, always: "codenames" alone reads as exactly those (no defaults), and a CSV
            // cell cannot tell an empty list from none.
            return [
                "kind": "content_type", "content_type": type.contentType, "codenames": type.custom,
                "defaults": !type.hasDefaults || type.defaults,
            ]
        case .user(let user)?:
            var fields: [String: Any] = [
                "kind": "user", "user": user.id, "is_active": !user.hasIsActive || user.isActive,
                "is_superuser": user.isSuperuser,
            ]
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
    public static func record(_ fields: [String: Any], line: Int) throws(RecordFormatError) -> Warden_V1_Record {
        func string(_ key: String) -> String? { fields[key] as? String }
        func required(_ key: String) throws(RecordFormatError) -> String {
            guard let value = string(key), !value.isEmpty else {
                throw RecordFormatError(
                    line: line,
                    field: key,
                    message: "\"\(key)\" is required for a \(string("kind") ?? "record")"
                )
            }
            return value
        }
        func flag(_ key: String, default value: Bool) throws(RecordFormatError) -> Bool {
            switch fields[key] {
            case nil: return value
            case let bool as Bool: return bool
            case let text as String where text.isEmpty: return value
            case let text as String where ["true", "1", "yes"].contains(text.lowercased()): return true
            case let text as String where ["false", "0", "no"].contains(text.lowercased()): return false
            default: throw RecordFormatError(line: line, field: key, message: "\"\(key)\" must be true or false")
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
                // By scalar, as CSV is read: a combining mark would join a space in one Character.
                case let text as String:
                    text.unicodeScalars.split(separator: " ").map { String(String.UnicodeScalarView($0)) }
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
                grant.subject.user = user
            } else {
                grant.subject.group = try required("group")
            }
            grant.permission = try required("perm")
            if let type = string("content_type"), !type.isEmpty { grant.contentType = type }
            if let pk = string("pk"), !pk.isEmpty { grant.pk = pk }
            record.grant = grant
        default:
            throw RecordFormatError(
                line: line,
                field: "kind",
                message: "\"kind\" must be content_type, user, group, member or grant"
            )
        }
        return record
    }
}
