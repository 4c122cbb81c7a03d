import Foundation

/// Where and how to connect: a libpq connection URI, passed to libpq as it is (`sslmode`,
/// `host=/run/postgresql` and the rest pass through), an optional password read from a file,
/// and the settings Warden adds unless the URI names them itself.
///
/// The password comes from the URI, from `PGPASSWORD` / `PGPASSFILE` (libpq reads them), or
/// from `password`; it is never logged: `redacted` is the only form of the URI any message
/// names.
struct PostgresURI: Sendable {
    let uri: String
    let password: String?
    let connectTimeoutSeconds: Int
    let applicationName: String

    /// Whether `string` is a libpq connection URI (`postgresql://` or `postgres://`).
    static func isURI(_ string: String) -> Bool {
        string.hasPrefix("postgresql://") || string.hasPrefix("postgres://")
    }

    /// The password in the file at `path`, without one trailing newline (what `echo` and most
    /// secret mounts leave).
    static func password(file path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), var password = String(data: data, encoding: .utf8)
        else {
            throw PostgresError(
                sqlState: nil,
                message: "cannot read the password file \(path)",
                sql: nil,
                connectionLost: true
            )
        }
        if password.hasSuffix("\r\n") {
            password.removeLast(1)
        } else if password.hasSuffix("\n") {
            password.removeLast()
        }
        return password
    }

    /// libpq's keywords and values. Warden's defaults come before `dbname` (the URI), so the
    /// URI's own settings win; the password file's password comes after it, so it wins over a
    /// password in the URI.
    var parameters: [(keyword: String, value: String)] {
        var parameters: [(String, String)] = [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", applicationName),
            // A server that vanishes without closing the TCP connection is noticed in about 25 s
            // (ignored on a Unix socket).
            ("keepalives", "1"), ("keepalives_idle", "10"), ("keepalives_interval", "5"), ("keepalives_count", "3"),
            ("dbname", uri),
        ]
        if let password { parameters.append(("password", password)) }
        return parameters
    }

    /// The URI with any password in it replaced by `***`: the user-info part
    /// (`postgresql://user:secret@host`) and a `password=` parameter.
    var redacted: String { Self.redact(uri) }

    static func redact(_ uri: String) -> String {
        var text = uri
        if let scheme = text.range(of: "://") {
            let rest = text[scheme.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
                text.replaceSubrange(text.index(after: colon)..<at, with: "***")
            }
        }
        var parts = text.components(separatedBy: "password=")
        for index in parts.indices.dropFirst() {
            let value = parts[index].firstIndex { $0 == "&" || $0 == " " } ?? parts[index].endIndex
            parts[index].replaceSubrange(parts[index].startIndex..<value, with: "***")
        }
        return parts.joined(separator: "password=")
    }
}
