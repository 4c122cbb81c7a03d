import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// Peer credentials: the server reads this test process's real uid and gid with SO_PEERCRED
/// and checks them against allow lists that include or exclude it.
@Suite("Peer credentials", .serialized)
struct AccessTests {
    static let otherUID = "4242424"

    @Test("a uid and gid in no allow list are refused every request, before any work")
    func refused() async throws {
        try await withServer(environment: ["WARDEN_ADMIN_UIDS": Self.otherUID]) { _, warden in
            for call in [{ _ = try await warden.health() }, { _ = try await warden.putGroup("g") }] {
                await #expect(throws: WardenError.self) { try await call() }
                do { try await call() } catch let error as WardenError {
                    #expect(error.code == .permissionDenied)
                    #expect(error.message.contains("not allowed"))
                }
            }
        }
    }

    @Test("a reader uid reads and may not write; an admin uid writes")
    func readerAndAdmin() async throws {
        let uid = String(getuid())
        try await withServer(environment: ["WARDEN_ADMIN_UIDS": Self.otherUID, "WARDEN_READER_UIDS": uid]) {
            _,
            warden in
            #expect(try await warden.health().status == "SERVING")
            _ = try await warden.check(.user("1"), "lab.view_experiment", object: RPCTests.experiment("1"))
            do {
                _ = try await warden.putGroup("g")
                Issue.record("a reader wrote")
            } catch let error as WardenError {
                #expect(error.code == .permissionDenied)
                #expect(error.message.contains("admin"))
            }
            // A bulk stream of a reader is refused once, and its later chunks are dropped.
            await #expect(throws: WardenError.self) {
                _ = try await warden.bulkGrant(
                    (0..<30).map { Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "\($0)") },
                    chunkSize: 10
                )
            }
            #expect(try await warden.health().status == "SERVING")
        }
        try await withServer(environment: ["WARDEN_ADMIN_UIDS": Self.otherUID, "WARDEN_ADMIN_GIDS": String(getgid())]) {
            _,
            warden in
            let written = try await warden.putGroup("g")
            #expect(written.changed)
        }
    }

    @Test("the socket file has mode 0660")
    func socketMode() async throws {
        try await withServer { server, _ in
            var info = stat()
            #expect(stat(server.socketPath, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
        }
    }
}
