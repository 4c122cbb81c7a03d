import Foundation
import Testing
import WardenIndex
import WardenModel

/// Writers are not starved by readers: with the lock preferring readers, steady check traffic
/// held every write back until the checks stopped.
@Suite("Writer progress")
struct WriterProgressTests {
    @Test("writes complete while readers keep checking")
    func writesProgress() throws {
        let index = PermissionIndex()
        let car = try ContentTypeName("drivers.car")
        try index.apply([.register(try ContentType(name: car)), .putUser(try User(id: "1"))])
        let request = CheckRequest(
            subject: .user("1"),
            permission: "drivers.view_car",
            object: ObjectRef(contentType: "drivers.car", pk: "7")
        )
        let readersDone = Flag()
        let writesBeforeReadersDone = Counter()
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                // A fixed budget of checks, far more than 20 writes need to get through.
                for _ in 0..<300_000 { _ = try? index.check(request) }
                readersDone.set()
                group.leave()
            }.start()
        }
        let permission = try PermissionRef(contentType: car, codename: "view_car")
        for n in 0..<20 {
            try index.apply([.grant(try Grant(subject: .user("1"), permission: permission, pk: String(n)))])
            if !readersDone.isSet { writesBeforeReadersDone.increment() }
        }
        group.wait()
        #expect(
            writesBeforeReadersDone.value == 20,
            "only \(writesBeforeReadersDone.value) of 20 writes got in while readers ran"
        )
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
