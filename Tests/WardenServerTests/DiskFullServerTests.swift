import Foundation
import Testing
import WardenClient
import WardenProto
import WardenWire

#if canImport(Glibc)
import Glibc
#endif

/// A real server whose database sits on a full volume (a small tmpfs: root only, as CI runs;
/// elsewhere `Tests/WardenStoreTests/DiskFullTests.swift` makes SQLite full with
/// `max_page_count`).
@Suite("Disk full end to end", .serialized)
struct DiskFullServerTests {
    /// Mounts a tmpfs of `size` at a new folder; `nil` when this process may not mount.
    static func mountTmpfs(size: String) -> String? {
        guard getuid() == 0 else { return nil }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "warden-full-\(UUID().uuidString.prefix(8))"
        ).path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard mount("tmpfs", folder, "tmpfs", 0, "size=\(size)") == 0 else {
            try? FileManager.default.removeItem(atPath: folder)
            return nil
        }
        return folder
    }

    /// Fills the volume at `folder` with one file until a write fails with ENOSPC.
    static func fill(_ folder: String) -> String {
        let path = folder + "/filler"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let chunk = [UInt8](repeating: 0xAB, count: 4096)
        while chunk.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        close(descriptor)
        return path
    }

    @Test(
        "a write on a full disk answers RESOURCE_EXHAUSTED naming the cause; reads go on; freed space lets writes resume"
    )
    func fullVolume() async throws {
        guard let volume = Self.mountTmpfs(size: "2m") else {
            print("disk full end to end: skipped (not root, or tmpfs cannot be mounted here)")
            return
        }
        defer {
            umount2(volume, Int32(MNT_DETACH))
            try? FileManager.default.removeItem(atPath: volume)
        }
        let server = try await ServerProcess(databasePath: volume + "/warden.db")
        defer {
            server.stop()
            server.removeFolder()
        }
        let warden = try await server.connect()
        _ = try await warden.registerContentType("lab.experiment")
        _ = try await warden.putUser("1")
        _ = try await warden.grant(Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "before"))
        let filler = Self.fill(volume)
        var acknowledged = 0
        var refusal: WardenError?
        for n in 0..<5_000 {
            let pk = "full-\(n)-" + String(repeating: "x", count: 200)
            do {
                _ = try await warden.grant(Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: pk))
                acknowledged += 1
            } catch let error as WardenError {
                refusal = error
                break
            }
        }
        let error = try #require(refusal, "the volume never filled")
        print("disk full end to end: \(acknowledged) writes after filling, then \(error.code): \(error.message)")
        #expect(error.code == .resourceExhausted)
        #expect(error.message.contains("disk is full") && !error.message.contains(volume))
        // Reads go on; the refused write is not visible.
        let experiment = Warden_V1_ObjectRef("lab.experiment", "before")
        #expect(try await warden.check(.user("1"), "lab.view_experiment", object: experiment).decision.allowed)
        let refusedPK = "full-\(acknowledged)-" + String(repeating: "x", count: 200)
        let refused = Warden_V1_ObjectRef("lab.experiment", refusedPK)
        #expect(try await !warden.check(.user("1"), "lab.view_experiment", object: refused).decision.allowed)
        // Space freed: writes work again.
        try FileManager.default.removeItem(atPath: filler)
        _ = try await warden.grant(Warden_V1_Grant(.user("1"), "lab.view_experiment", pk: "after"))
        await warden.close()
        // After a restart: what was acknowledged is there, the refused write is not.
        server.stop()
        let again = try await server.restarted()
        defer { again.stop() }
        let reader = try await again.connect()
        #expect(
            try await reader.check(
                .user("1"),
                "lab.view_experiment",
                object: Warden_V1_ObjectRef("lab.experiment", "after")
            ).decision.allowed
        )
        #expect(try await !reader.check(.user("1"), "lab.view_experiment", object: refused).decision.allowed)
        await reader.close()
    }
}
