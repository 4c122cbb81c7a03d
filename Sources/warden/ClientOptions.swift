import ArgumentParser
import Foundation
import WardenClient
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// The options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(help: "The server's socket. Env: WARDEN_SOCKET. Default: ./var/warden.sock.")
    var socket: String?

    @Option(help: "Seconds to wait for each answer.")
    var timeout: Double = 30

    @Flag(help: "Print JSON (one object per line) instead of text.")
    var json = false

    var socketPath: String { socket ?? ProcessInfo.processInfo.environment["WARDEN_SOCKET"] ?? "var/warden.sock" }

    /// Connects, runs `body`, and turns failures into exit status 2 with the server's status and
    /// message on stderr. `body` returns the exit status.
    func run(_ body: (WardenConnection) async throws -> Int32) async throws {
        let status: Int32
        do {
            let connection = try await WardenConnection.connect(
                socketPath: socketPath,
                defaultTimeout: .milliseconds(Int64(timeout * 1000))
            )
            defer { Task { await connection.close() } }
            status = try await body(connection)
        } catch let error as WardenError {
            FileHandle.standardError.write(Data("warden: \(error.code): \(error.message)\n".utf8))
            throw ExitCode(2)
        } catch let error as CommandError {
            FileHandle.standardError.write(Data("warden: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// A usage problem found while running a command (a bad subject, a bad input line).
struct CommandError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Parses `42`, `user:42` or `group:NAME`.
func parseSubject(_ text: String) -> Warden_V1_Subject {
    if text.hasPrefix("group:") { return .group(String(text.dropFirst(6))) }
    if text.hasPrefix("user:") { return .user(String(text.dropFirst(5))) }
    return .user(text)
}

/// Parses `app.model:pk` (the pk is everything after the first colon).
func parseObject(_ text: String) throws -> Warden_V1_ObjectRef {
    guard let colon = text.firstIndex(of: ":") else {
        throw CommandError("object \"\(text)\": write app_label.model:pk, e.g. drivers.car:7")
    }
    return Warden_V1_ObjectRef(String(text[..<colon]), String(text[text.index(after: colon)...]))
}

func describe(_ subject: Warden_V1_Subject) -> String {
    switch subject.kind {
    case .user(let id)?: "user:\(id)"
    case .group(let name)?: "group:\(name)"
    case nil: "anonymous"
    }
}

/// The wire name of a reason (`OBJECT_GRANT_GROUP`).
func reasonName(_ reason: Warden_V1_Reason) -> String {
    let names: [Warden_V1_Reason: String] = [
        .unknownUser: "UNKNOWN_USER", .inactiveUser: "INACTIVE_USER", .superuser: "SUPERUSER",
        .unknownPermission: "UNKNOWN_PERMISSION", .objectGrantUser: "OBJECT_GRANT_USER",
        .objectGrantGroup: "OBJECT_GRANT_GROUP",
        .modelGrantUser: "MODEL_GRANT_USER", .modelGrantGroup: "MODEL_GRANT_GROUP", .noGrant: "NO_GRANT",
    ]
    return names[reason] ?? "REASON_UNSPECIFIED"
}

func decisionJSON(_ decision: Warden_V1_Decision) -> [String: Any] {
    var object: [String: Any] = ["allowed": decision.allowed, "reason": reasonName(decision.reason)]
    if !decision.group.isEmpty { object["group"] = decision.group }
    return object
}

func decisionText(_ decision: Warden_V1_Decision) -> String {
    (decision.allowed ? "allow " : "deny ") + reasonName(decision.reason)
        + (decision.group.isEmpty ? "" : " (group \(decision.group))")
}

/// One JSON object on one line, keys sorted.
func jsonLine(_ object: [String: Any]) -> String {
    let data =
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

func printWrite(_ response: Warden_V1_WriteResponse, json: Bool) {
    if json {
        print(jsonLine(["changed": response.changed, "revision": response.revision]))
    } else {
        print((response.changed ? "changed" : "unchanged (already so)") + " at revision \(response.revision)")
    }
}
