import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

/// Read-your-writes, min_revision, and two server processes sharing one database file.
@Suite("Freshness end to end", .serialized)
struct FreshnessTests {
    @Test("a grant is visible on another connection as soon as its reply arrives")
    func readYourWrites() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            let other = try await server.connect()
            defer { Task { await other.close() } }
            for pk in 0..<50 {
                let written = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.delete_experiment", pk: "r\(pk)"))
                let answer = try await other.check(
                    .user("2"),
                    "lab.delete_experiment",
                    object: RPCTests.experiment("r\(pk)")
                )
                #expect(answer.decision.allowed)
                #expect(answer.revision >= written.revision)
            }
        }
    }

    @Test("min_revision ahead of every write: UNAVAILABLE at the deadline, never an older answer")
    func minRevisionAhead() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            let revision = try await warden.health().revision
            await #expect {
                _ = try await warden.check(
                    .user("1"),
                    "lab.change_experiment",
                    object: RPCTests.experiment("4"),
                    minRevision: revision + 10,
                    timeout: .milliseconds(300)
                )
            } throws: { error in
                let code = (error as? WardenError)?.code
                return code == .unavailable || code == .deadlineExceeded
            }
            let fine = try await warden.check(
                .user("1"),
                "lab.change_experiment",
                object: RPCTests.experiment("4"),
                minRevision: revision
            )
            #expect(fine.decision.allowed)
        }
    }

    @Test("two servers on one database: a write through one is read through the other at min_revision")
    func twoProcesses() async throws {
        try await withServer { first, warden in
            try await RPCTests.seed(warden)
            let second = try await ServerProcess(databasePath: first.databasePath, folder: first.folder)
            defer { second.stop() }
            let reader = try await second.connect()
            defer { Task { await reader.close() } }
            for pk in 0..<20 {
                let written = try await warden.grant(
                    Warden_V1_Grant(.user("3"), "lab.publish_experiment", pk: "m\(pk)")
                )
                let answer = try await reader.check(
                    .user("3"),
                    "lab.publish_experiment",
                    object: RPCTests.experiment("m\(pk)"),
                    minRevision: written.revision
                )
                #expect(answer.decision.reason == .objectGrantUser)
                #expect(answer.revision >= written.revision)
            }
            // A bulk through the second is followed by the first (bulk summaries are replayed).
            let bulk = try await reader.bulkGrant(
                (0..<500).map { Warden_V1_Grant(.user("2"), "lab.add_experiment", pk: "x\($0)") }
            )
            var request = Warden_V1_ListObjectsRequest()
            request.subject = .user("2")
            request.permissions = ["lab.add_experiment"]
            request.minRevision = bulk.revision
            request.pageSize = 1000
            let page = try await warden.listObjects(request)
            #expect(page.pks.count == 500)
        }
    }
}
