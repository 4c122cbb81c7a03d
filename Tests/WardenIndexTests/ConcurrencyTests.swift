import Foundation
import Testing
import WardenIndex
import WardenModel

// Readers against a writer: a batch is seen entirely or not at all, whatever the query.

extension PropertyTests {
    @Test("concurrent readers never see half of a batch")
    func concurrentReaders() throws {
        let index = PermissionIndex()
        let post = try ContentTypeName("blog.post")
        let view = try PermissionRef(contentType: post, codename: "view_post")
        var setup: [Change] = [.register(try ContentType(name: post, custom: ["publish"]))]
        for id in ["A", "B", "C"] { setup.append(.putUser(try User(id: id))) }
        try index.apply(setup)

        let objects = ["1", "x", "/home/www/joe.config"]
        let shared = ConcurrencyBox()
        let finished = DispatchGroup()

        let writer = Thread {
            var granted: Set<String> = []
            var padded = false
            for iteration in 0..<1200 {
                let pk = objects[iteration % objects.count]
                let pair = [
                    try! Grant(subject: .user("A"), permission: view, pk: pk),
                    try! Grant(subject: .user("B"), permission: view, pk: pk),
                ]
                let revoke = granted.contains(pk)
                var batch: [Change] = revoke ? pair.map { .revoke($0) } : pair.map { .grant($0) }
                if iteration % 4 == 0 {
                    // Pad to more than 32 changes (the deferred-sort path), the pair in the middle.
                    let padding = (0..<40).map { k -> Change in
                        let grant = try! Grant(subject: .user("C"), permission: view, pk: "p\(k)")
                        return padded ? .revoke(grant) : .grant(grant)
                    }
                    padded.toggle()
                    batch = Array(padding[0..<20]) + [batch[0]] + Array(padding[20...]) + [batch[1]]
                }
                do { try index.apply(batch) } catch { shared.violation("writer: \(error)") }
                if revoke { granted.remove(pk) } else { granted.insert(pk) }
            }
            shared.finish()
            finished.leave()
        }

        func reader(_ number: Int) -> Thread {
            Thread {
                for iteration in 0..<30_000 where !shared.isFinished {
                    let pk = objects[(iteration + number) % objects.count]
                    let object = ObjectRef(contentType: "blog.post", pk: pk)
                    let a = CheckRequest(subject: .user("A"), permission: "view_post", object: object)
                    let b = CheckRequest(subject: .user("B"), permission: "blog.view_post", object: object)
                    // One batch of checks: one revision.
                    let both = index.check([a, b])
                    let allowedA = (try? both.value[0].get())?.allowed
                    let allowedB = (try? both.value[1].get())?.allowed
                    if allowedA == nil || allowedA != allowedB {
                        shared.violation(
                            "check batch at revision \(both.revision) on \(pk): A \(String(describing: allowedA)), B \(String(describing: allowedB))"
                        )
                    }
                    shared.saw(allowed: allowedA == true)
                    // Two separate checks: when at the same revision, they must agree.
                    if let one = try? index.check(a), let two = try? index.check(b), one.revision == two.revision,
                        one.value.allowed != two.value.allowed
                    {
                        shared.violation("checks at revision \(one.revision) on \(pk): A \(one.value), B \(two.value)")
                    }
                    // Who can see the object: both or neither.
                    if let subjects = try? index.listSubjects(ListSubjectsQuery(object: object)) {
                        let ids = subjects.value.users.map { $0.name }
                        if ids.contains("A") != ids.contains("B") {
                            shared.violation("listSubjects at revision \(subjects.revision) on \(pk): \(ids)")
                        }
                    } else {
                        shared.violation("listSubjects failed")
                    }
                    // What each can list, at the same revision: the same objects among the pair's.
                    if let listA = try? index.listObjects(
                        ListObjectsQuery(subject: .user("A"), permissions: ["blog.view_post"])
                    ),
                        let listB = try? index.listObjects(
                            ListObjectsQuery(subject: .user("B"), permissions: ["blog.view_post"])
                        ),
                        listA.revision == listB.revision, listA.value != listB.value
                    {
                        shared.violation(
                            "listObjects at revision \(listA.revision): A \(listA.value), B \(listB.value)"
                        )
                    }
                }
                finished.leave()
            }
        }

        let readers = (0..<3).map(reader)
        for thread in readers {
            finished.enter()
            thread.start()
        }
        finished.enter()
        writer.start()
        finished.wait()

        let (violations, first, grantedSeen, revokedSeen) = shared.summary
        print(
            "PropertyTests concurrency: \(index.revision) revisions, readers saw granted \(grantedSeen)×, revoked \(revokedSeen)×"
        )
        #expect(violations == 0, "\(violations) torn reads; first: \(first ?? "")")
        #expect(index.revision.rawValue == 1 + 1200)
    }
}

/// Shared between the concurrency test's threads, behind a lock.
final class ConcurrencyBox: @unchecked Sendable {
    private let lock = NSLock()
    private var violations = 0
    private var firstViolation: String? = nil
    private var finished = false
    private var grantedSeen = 0
    private var revokedSeen = 0

    func violation(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        violations += 1
        if firstViolation == nil { firstViolation = text }
    }

    func saw(allowed: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if allowed { grantedSeen += 1 } else { revokedSeen += 1 }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        finished = true
    }

    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }

    var summary: (Int, String?, Int, Int) {
        lock.lock()
        defer { lock.unlock() }
        return (violations, firstViolation, grantedSeen, revokedSeen)
    }
}
