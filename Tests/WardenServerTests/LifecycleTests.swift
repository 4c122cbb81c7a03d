import Foundation
import Testing
import WardenClient
import WardenModel
import WardenProto
import WardenSQLiteStore
import WardenStore
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM under load, and export then import reproducing every answer.
@Suite("Lifecycle and export/import", .serialized)
struct LifecycleTests {
    @Test("SIGTERM during load: every request completes or gets a clear status, exit 0, socket gone, database clean")
    func sigtermUnderLoad() async throws {
        let server = try await ServerProcess()
        defer { server.removeFolder() }
        let setup = try await server.connect()
        try await RPCTests.seed(setup)
        await setup.close()
        let acknowledged = Acknowledged()
        // Eight clients, connected before the signal (a connect after it would find no socket:
        // that is the point of the test, not a failure of it), write and check as fast as they can.
        var clients: [WardenConnection] = []
        for _ in 0..<8 { clients.append(try await server.connect()) }
        let connected = clients
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (client, warden) in connected.enumerated() {
                    group.addTask {
                        defer { Task { await warden.close() } }
                        for n in 0..<100_000 {
                            do {
                                let pk = "t\(client)-\(n)"
                                _ = try await warden.grant(Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: pk))
                                acknowledged.add(pk)
                                _ = try await warden.check(
                                    .user("1"),
                                    "lab.view_experiment",
                                    object: RPCTests.experiment(pk)
                                )
                            } catch let error as WardenError {
                                // A clear status, never a hang: the connection closed, or a deadline.
                                #expect([.unavailable, .deadlineExceeded, .cancelled].contains(error.code), "\(error)")
                                return
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // The load is under way (writes acknowledged), however slow the machine: then SIGTERM.
        for _ in 0..<6000 where acknowledged.pks.count < 16 { try await Task.sleep(for: .milliseconds(10)) }
        kill(server.pid, SIGTERM)
        let status = server.stop()
        try await load.value
        #expect(status == 0, "exit status \(status): \(server.output.suffix(500))")
        #expect(!FileManager.default.fileExists(atPath: server.socketPath), "the socket file is removed")
        #expect(server.output.contains("stopped"))
        // The database opens clean and holds every acknowledged write.
        let pks = acknowledged.pks
        #expect(pks.count > 0)
        let store = try SQLiteStore(path: server.databasePath)
        let state = try store.snapshot()
        let stored = Set(
            state.changes.compactMap { change -> String? in
                if case .grant(let grant) = change { grant.pk } else { nil }
            }
        )
        #expect(pks.isSubset(of: stored), "\(pks.subtracting(stored).count) acknowledged grants missing")
        let walSize =
            (try? FileManager.default.attributesOfItem(atPath: server.databasePath + "-wal"))?[.size] as? Int ?? 0
        #expect(walSize == 0, "the log was checkpointed at shutdown")
    }

    @Test("export, then import into an empty server, reproduces every answer")
    func roundTrip() async throws {
        // A generated data set: types, users (some inactive or superusers), groups, members, grants.
        var lines: [String] = [
            #"{"kind": "content_type", "content_type": "lab.experiment", "custom": ["publish_experiment"]}"#,
            #"{"kind": "content_type", "content_type": "drivers.car", "codenames": ["drive_car", "view_car"]}"#,
        ]
        var random = SystemRandomNumberGenerator()
        for user in 0..<60 {
            let flags = user % 17 == 0 ? #", "is_superuser": true"# : (user % 13 == 0 ? #", "is_active": false"# : "")
            lines.append(#"{"kind": "user", "user": "\#(user)", "username": "u\#(user)"\#(flags)}"#)
        }
        for group in 0..<5 { lines.append(#"{"kind": "group", "group": "g\#(group)"}"#) }
        for user in 0..<60 where user % 3 == 0 {
            lines.append(#"{"kind": "member", "user": "\#(user)", "group": "g\#(user % 5)"}"#)
        }
        let experimentPerms = ["lab.view_experiment", "lab.change_experiment", "lab.publish_experiment"]
        for _ in 0..<3000 {
            let subject =
                Bool.random(using: &random)
                ? #""user": "\#(Int.random(in: 0..<60, using: &random))""#
                : #""group": "g\#(Int.random(in: 0..<5, using: &random))""#
            if Int.random(in: 0..<10, using: &random) == 0 {
                lines.append(#"{"kind": "grant", \#(subject), "perm": "drivers.drive_car"}"#)
            } else {
                let perm = experimentPerms.randomElement(using: &random)!
                lines.append(
                    #"{"kind": "grant", \#(subject), "perm": "\#(perm)", "pk": "\#(Int.random(in: 0..<200, using: &random))"}"#
                )
            }
        }
        let first = try await ServerProcess()
        let second = try await ServerProcess()
        defer {
            first.stop()
            first.removeFolder()
            second.stop()
            second.removeFolder()
        }
        let file = first.folder.appendingPathComponent("data.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let imported = try runWarden(["import", file.path, "--socket", first.socketPath])
        #expect(imported.status == 0, "\(imported.error)")
        #expect(imported.output.contains("imported \(lines.count) rows"), "\(imported.output)")

        for format in ["jsonl", "csv"] {
            let exported = try runWarden(["export", "--format", format, "--socket", first.socketPath])
            #expect(exported.status == 0, "\(exported.error)")
            let target = try await ServerProcess()
            defer {
                target.stop()
                target.removeFolder()
            }
            let dump = target.folder.appendingPathComponent("dump.\(format)")
            try Data(exported.output.utf8).write(to: dump)
            let reimported = try runWarden(["import", dump.path, "--socket", target.socketPath])
            #expect(reimported.status == 0, "\(format): \(reimported.error)")
            // Same state: the exports match, and every answer matches.
            let again = try runWarden(["export", "--format", format, "--socket", target.socketPath])
            let (before, after) = (
                Set(exported.output.split(separator: "\n")), Set(again.output.split(separator: "\n"))
            )
            #expect(
                before == after,
                "\(format): \(before.subtracting(after).count) lines lost, \(after.subtracting(before).count) gained"
            )
            #expect(before.count > 2000, "the data set's distinct records")
            let a = try await first.connect()
            let b = try await target.connect()
            for user in 0..<60 {
                for perm in experimentPerms + ["drivers.drive_car"] {
                    var request = Warden_V1_ListObjectsRequest()
                    request.subject = .user("\(user)")
                    request.permissions = [perm]
                    let (left, right) = (try await a.listAllObjects(request), try await b.listAllObjects(request))
                    #expect(
                        left.pks == right.pks && left.unrestricted == right.unrestricted,
                        "\(format) user \(user) \(perm)"
                    )
                }
                for pk in ["1", "7", "150"] {
                    let (left, right) = (
                        try await a.check(.user("\(user)"), "lab.change_experiment", object: RPCTests.experiment(pk)),
                        try await b.check(.user("\(user)"), "lab.change_experiment", object: RPCTests.experiment(pk))
                    )
                    #expect(left.decision == right.decision, "\(format) user \(user) pk \(pk)")
                }
            }
            await a.close()
            await b.close()
        }
    }
}

/// Acknowledged writes, from many tasks.
final class Acknowledged: @unchecked Sendable {
    private let lock = NSLock()
    private var set: Set<String> = []
    func add(_ pk: String) { lock.withLock { _ = set.insert(pk) } }
    var pks: Set<String> { lock.withLock { set } }
}

/// `warden backup` against a server under write load.
@Suite("Backup", .serialized)
struct BackupTests {
    @Test("a backup taken under write load holds every write acknowledged before it started")
    func underLoad() async throws {
        try await withServer { server, warden in
            try await RPCTests.seed(warden)
            let acknowledged = Acknowledged()
            let stop = Acknowledged()
            let writers = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<4 {
                        group.addTask {
                            var n = 0
                            while stop.pks.isEmpty {
                                let pk = "b\(writer)-\(n)"
                                _ = try await warden.grant(Warden_V1_Grant(.user("2"), "lab.view_experiment", pk: pk))
                                acknowledged.add(pk)
                                n += 1
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            // Under way: wait for acknowledged writes by count, not by time (a busy machine may
            // take seconds to acknowledge the first), with a bound so a stuck server fails here.
            for _ in 0..<6000 where acknowledged.pks.count < 20 { try await Task.sleep(for: .milliseconds(10)) }
            let before = acknowledged.pks
            let destination = server.folder.appendingPathComponent("backup.db").path
            let result = try runWarden(["backup", destination, "--database", server.databasePath, "--json"])
            stop.add("stop")
            try await writers.value
            #expect(result.status == 0, "\(result.error)")
            #expect(before.count > 0)
            let copy = try SQLiteStore(path: destination)
            let stored = Set(
                try copy.snapshot().changes.compactMap { change -> String? in
                    if case .grant(let grant) = change { grant.pk } else { nil }
                }
            )
            #expect(
                before.isSubset(of: stored),
                "\(before.subtracting(stored).count) acknowledged writes missing from the backup"
            )
            let revision = result.jsonLines.first?["revision"] as? Int ?? 0
            #expect(revision >= before.count, "the copy's revision \(revision)")
            // Backups never overwrite.
            let again = try runWarden(["backup", destination, "--database", server.databasePath])
            #expect(again.status == 2 && again.error.contains("exists"))
        }
    }
}
