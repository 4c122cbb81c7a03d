import WardenModel
import WardenSQLiteStore
import WardenStore

// warden-store-child — a real process writing to a Warden database, for the multi-process and
// crash tests (Tests/WardenStoreTests/ProcessTests.swift). Usage:
//
//   warden-store-child write DB COUNT
//
// registers files.file and user "writer" (if needed), then commits COUNT writes: single grants
// on pks "p<n>", every 10th write a bulk grant of 5 pks "b<n>-<k>". After each commit it prints
// `ack <revision> <pk>...` and flushes, so a parent that kills it knows what was acknowledged.
#if canImport(Glibc)
import Glibc
#endif

/// Prints a line and flushes it before the next commit starts.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

let arguments = CommandLine.arguments
guard arguments.count == 4, arguments[1] == "write", let count = Int(arguments[3]) else {
    say("usage: warden-store-child write DB COUNT")
    exit(2)
}
do {
    let store = try SQLiteStore(path: arguments[2])
    let file = try ContentTypeName("files.file")
    let read = try PermissionRef(contentType: file, codename: "read_file")
    _ = try store.apply(.register(try ContentType(name: file, custom: ["read_file"])))
    _ = try store.apply(.putUser(try User(id: "writer")))
    let start = Int(try store.revision.rawValue)
    for n in start..<(start + count) {
        if n % 10 == 0 {
            let pks = (0..<5).map { "b\(n)-\($0)" }
            let outcome = try store.bulkGrant(
                try pks.map { try Grant(subject: .user("writer"), permission: read, pk: $0) }
            )
            say("ack \(outcome.revision) " + pks.joined(separator: " "))
        } else {
            let outcome = try store.apply(.grant(try Grant(subject: .user("writer"), permission: read, pk: "p\(n)")))
            say("ack \(outcome.revision) p\(n)")
        }
    }
    say("done")
} catch {
    say("error \(error)")
    exit(1)
}
