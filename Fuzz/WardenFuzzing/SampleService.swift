import Foundation
import Logging
import WardenIndex
import WardenModel
import WardenSQLiteStore
import WardenService
import WardenStore

/// A small fixed state behind a `WardenService`, for the request harness: two content types,
/// active, inactive and superusers, a group with a member, object and model grants. Its SQLite
/// file lives in a temporary folder removed once the index is loaded (requests only read).
public enum SampleService {
    /// The state, as the changes that build it.
    public static func changes() throws -> [Change] {
        let lab = try ContentTypeName("lab.experiment")
        let car = try ContentTypeName("drivers.car")
        func permission(_ type: ContentTypeName, _ codename: String) throws -> PermissionRef {
            try PermissionRef(contentType: type, codename: codename)
        }
        return [
            .register(try ContentType(name: lab, custom: ["publish_experiment"])),
            .register(try ContentType(name: car, defaults: false, custom: ["drive_car", "view_car"])),
            .putUser(try User(id: "1", username: "ada")),
            .putUser(try User(id: "2", isActive: false)),
            .putUser(try User(id: "3", isSuperuser: true)),
            .putUser(try User(id: "42", username: "joe")),
            .putGroup(name: "editors"),
            .addMember(user: "42", group: "editors"),
            .grant(try Grant(subject: .user("1"), permission: permission(lab, "change_experiment"), pk: "7")),
            .grant(try Grant(subject: .user("1"), permission: permission(lab, "view_experiment"))),
            .grant(try Grant(subject: .group("editors"), permission: permission(car, "view_car"))),
            .grant(try Grant(subject: .group("editors"), permission: permission(car, "drive_car"), pk: "car-1")),
            .grant(try Grant(subject: .user("2"), permission: permission(lab, "view_experiment"), pk: "7")),
        ]
    }

    /// A service over the sample state; built once per process.
    public static func make() throws -> WardenService {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "warden-fuzz-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("sample.db").path)
        let replica = try IndexReplica(store: store)
        _ = try replica.apply(batch: try changes())
        return WardenService(
            replica: replica,
            policy: AccessPolicy(),
            logger: Logger(label: "warden.fuzz") { _ in SwiftLogNoOpLogHandler() }
        )
    }
}
