import Foundation
import Testing
import WardenModel
import WardenSQLiteStore
import WardenStore

/// A WriteBatch is all or nothing: a record that `apply` would refuse refuses the whole batch,
/// model-level grants included (they used to be recorded as a failure event and dropped).
@Suite("Store conformance: a refused batch writes nothing")
struct BatchRefusalTests {
    @Test(
        "a model-level grant naming an unknown permission, group or type refuses the whole batch",
        arguments: BackendUnderTest.all
    )
    func modelGrantRefusesBatch(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        _ = try store.apply(batch: Fixture.basics)
        let revision = try store.revision
        let cases: [(Change, StoreError.Code, String)] = [
            (.grant(Fixture.grant(.group("editors"), Fixture.car, "fly_car")), .notFound, "fly_car"),
            (.grant(Fixture.grant(.group("nobody"), Fixture.car, "view_car")), .notFound, "nobody"),
            (.grant(Fixture.grant(.user("99"), Fixture.car, "view_car")), .notFound, "99"),
            (
                .grant(Fixture.grant(.group("editors"), try ContentTypeName("drivers.truck"), "view_truck")), .notFound,
                "truck"
            ),
            // view_order belongs to shop.order, not shop.cart: invalid_type.
            (
                .grant(Fixture.grant(.group("editors"), try ContentTypeName("shop.cart"), "view_order")),
                .invalidArgument, "shop.order"
            ),
            (.revoke(Fixture.grant(.group("editors"), Fixture.car, "fly_car")), .notFound, "fly_car"),
        ]
        for (bad, code, named) in cases {
            let batch: [Change] = [
                .putGroup(name: "new"), .grant(Fixture.grant(.group("editors"), Fixture.car, "view_car")), bad,
            ]
            #expect {
                _ = try store.apply(batch: batch)
            } throws: { error in
                guard let error = error as? StoreError else { return false }
                return error.code == code && error.message.hasPrefix("change 3 of 3: ") && error.message.contains(named)
            }
            #expect(try store.revision == revision, "\(bad)")
            #expect(try store.events(after: revision).isEmpty, "\(bad)")
            let groups = try store.snapshot().changes.filter { if case .putGroup = $0 { true } else { false } }
            #expect(groups == [.putGroup(name: "editors")])
        }
        // Alone, such a grant still records its failure event and throws, as Grant does.
        #expect(throws: StoreError.self) { try store.apply(cases[0].0) }
        #expect(try store.events(after: revision).map(\.kind) == [.rolePermissionOperationFailed])
    }

    @Test(
        "a model grant already held is not a refusal: the batch commits, with its failure event",
        arguments: BackendUnderTest.all
    )
    func heldModelGrantCommits(_ backend: BackendUnderTest) throws {
        let database = TemporaryDatabase()
        let store = try backend.open(database)
        _ = try store.apply(batch: Fixture.basics)
        let viewCar = Fixture.grant(.group("editors"), Fixture.car, "view_car")
        _ = try store.apply(.grant(viewCar))
        let outcomes = try store.apply(batch: [.putGroup(name: "new"), .grant(viewCar)])
        #expect(outcomes.map(\.changed) == [true, false])
        #expect(
            outcomes[1].event?.kind == .rolePermissionOperationFailed && outcomes[1].event?.failure == .alreadyExists
        )
    }
}
