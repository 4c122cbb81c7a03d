/// Where the optional HTTP listener (`HTTPEndpoint`) binds: a TCP host and port, or a Unix
/// socket path. Spelled `HOST:PORT` (`127.0.0.1:9464`, `[::1]:9464`, `localhost:0`; port 0
/// picks a free port) or a path, which is any value containing `/` (`/run/warden/http.sock`,
/// `./http.sock`).
public enum HTTPAddress: Sendable, Equatable, CustomStringConvertible {
    /// A TCP listener on `host` (an IP address or a name that resolves) and `port`.
    case tcp(host: String, port: Int)
    /// A Unix socket listener at `path`.
    case unix(path: String)

    /// The rule a value must follow, for error messages.
    public static let rule = "must be HOST:PORT (127.0.0.1:9464, [::1]:9464) or a Unix socket path containing '/'"

    /// Parses `text`; `nil` when it follows neither spelling (``rule``).
    public init?(parsing text: String) {
        if text.contains("/") {
            self = .unix(path: text)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65_535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil  // an IPv6 address goes in brackets: [::1]:9464
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-_:%".contains($0) }) else { return nil }
        self = .tcp(host: host, port: port)
    }

    /// `HOST:PORT` (an IPv6 host in brackets) or the path.
    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): path
        }
    }
}
