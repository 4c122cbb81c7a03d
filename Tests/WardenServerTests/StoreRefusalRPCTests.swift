import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// What the store refuses, as a client over the socket sees it: a WriteBatch with a model-level
/// grant it cannot make, a content type past the codename cap, a write on a full disk.
@Suite("Store refusals end to end", .serialized)
struct StoreRefusalRPCTests {
    static func grantRecord(_ grant: Warden_V1_Grant) -> Warden_V1_Record {
        var record = Warden_V1_Record()
        record.grant = grant
        return record
    }

    static func groupRecord(_ name: String) -> Warden_V1_Record {
        var record = Warden_V1_Record()
        record.group = name
        return record
    }

    @Test("WriteBatch with a model-level grant of an unknown permission, group or type: NOT_FOUND, nothing written")
    func writeBatchRefusesModelGrant() async throws {
        try await withServer { _, warden in
            try await RPCTests.seed(warden)
            let bad: [(Warden_V1_Grant, StatusCode, String)] = [
                (Warden_V1_Grant(.group("Maintainer"), "lab.fly_experiment"), .notFound, "fly_experiment"),
                (Warden_V1_Grant(.group("Nobody"), "lab.view_experiment"), .notFound, "Nobody"),
                (Warden_V1_Grant(.user("99"), "lab.view_experiment"), .notFound, "99"),
                (
                    Warden_V1_Grant(.group("Maintainer"), "lab.view_sample", contentType: "lab.sample"), .notFound,
                    "lab.sample"
                ),
            ]
            for (grant, code, named) in bad {
                let before = try await warden.health().revision
                let records = [
                    Self.groupRecord("new"),
                    Self.grantRecord(Warden_V1_Grant(.group("Maintainer"), "lab.view_experiment")),
                    Self.grantRecord(grant),
                ]
                await #expect {
                    _ = try await warden.writeBatch(records)
                } throws: { error in
                    guard let error = error as? WardenError else { return false }
                    // The record is named: by the service's check against the index (an unknown
                    // permission) or by the store's (`change 3 of 3: …`).
                    let named3 = error.message.hasPrefix("change 3 of 3: ") || error.message.hasPrefix("records[2]")
                    return error.code == code && named3 && error.message.contains(named)
                }
                #expect(try await warden.health().revision == before, "\(grant)")
                let check = try await warden.check(.user("3"), "lab.view_experiment")
                #expect(!check.decision.allowed, "the batch's good grant must not be applied")
            }
            // The same grant alone answers as Grant does.
            await #expect { _ = try await warden.grant(bad[0].0) } throws: { ($0 as? WardenError)?.code == .notFound }
        }
    }

    @Test(
        "RegisterContentType of exactly 10,000 codenames is accepted; 10,001 answers INVALID_ARGUMENT naming custom and the limit"
    )
    func codenameCap() async throws {
        try await withServer { _, warden in
            _ = try await warden.putUser("1")
            let codenames = (0..<10_000).map { "perm_\($0)" }
            let started = ContinuousClock.now
            _ = try await warden.registerContentType("big.model", defaults: false, custom: codenames)
            print("RegisterContentType of 10,000 codenames over the socket: \(ContinuousClock.now - started)")
            await #expect {
                _ = try await warden.registerContentType("big.other", defaults: false, custom: codenames + ["one_more"])
            } throws: { error in
                guard let error = error as? WardenError else { return false }
                return error.code == .invalidArgument && error.message.contains("custom")
                    && error.message.contains("at most 10000")
            }
            await #expect {
                _ = try await warden.registerContentType("big.model", defaults: false, custom: ["one_more"])
            } throws: { ($0 as? WardenError)?.code == .invalidArgument }
            #expect(try await warden.check(.user("1"), "big.perm_9999").decision.reason == .noGrant)
        }
    }
}
