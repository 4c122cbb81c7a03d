import Testing
import WardenModel

/// Every identifier rule of DESIGN.md §1: the boundary values pass, one past them fails with
/// an error that names the field and the rule.
@Suite("Identifier validation")
struct ValidationTests {
    @Test("user ids and pks: 1..255 bytes of UTF-8, no NUL")
    func identifiers() throws {
        try Limits.checkIdentifier("1", field: "user.id")
        try Limits.checkIdentifier(String(repeating: "a", count: 255), field: "object.pk")
        try Limits.checkIdentifier(String(repeating: "é", count: 127), field: "object.pk")  // 254 bytes
        try Limits.checkIdentifier("/home/www/joe.config", field: "object.pk")
        #expect(throws: ValidationError(field: "object.pk", rule: "must be 1..255 bytes of UTF-8 (got 0)")) {
            try Limits.checkIdentifier("", field: "object.pk")
        }
        #expect(throws: ValidationError(field: "object.pk", rule: "must be 1..255 bytes of UTF-8 (got 256)")) {
            try Limits.checkIdentifier(String(repeating: "é", count: 128), field: "object.pk")
        }
        #expect(throws: ValidationError(field: "user.id", rule: "must not contain NUL")) {
            try Limits.checkIdentifier("a\u{0}b", field: "user.id")
        }
    }

    @Test("names: 1..150 characters, counted as Unicode scalars")
    func names() throws {
        try Limits.checkName(String(repeating: "é", count: 150), field: "group.name")
        #expect(throws: ValidationError(field: "group.name", rule: "must be 1..150 characters (got 151)")) {
            try Limits.checkName(String(repeating: "é", count: 151), field: "group.name")
        }
        #expect(throws: ValidationError(field: "user.username", rule: "must be 1..150 characters (got 0)")) {
            _ = try User(id: "1", username: "")
        }
    }

    @Test("content types: app_label.model, each part 1..100 of [a-z0-9_]")
    func contentTypes() throws {
        let name = try ContentTypeName("drivers.car")
        #expect(name.appLabel == "drivers" && name.model == "car" && name.description == "drivers.car")
        _ = try ContentTypeName("a_1." + String(repeating: "m", count: 100))
        for bad in [
            "Drivers.Car", "drivers", "drivers.car.x", ".car", "drivers.", "dri vers.car",
            "drivers." + String(repeating: "m", count: 101), "drivers.cär",
        ] {
            #expect(throws: ValidationError.self, "\(bad)") { try ContentTypeName(bad) }
        }
        do {
            _ = try ContentTypeName("Drivers.Car", field: "object.content_type")
            Issue.record("accepted Drivers.Car")
        } catch {
            #expect(error.field == "object.content_type")
            #expect(error.rule.contains("[a-z0-9_]") && error.rule.contains("Drivers.Car"))
        }
    }

    @Test("codenames: 1..100 of [A-Za-z0-9_-]; registration adds the four defaults")
    func codenames() throws {
        let car = try ContentTypeName("drivers.car")
        let type = try ContentType(name: car, custom: ["publish_car", "Can-Drive", "change_car"])
        #expect(type.codenames == ["add_car", "change_car", "delete_car", "view_car", "publish_car", "Can-Drive"])
        #expect(try ContentType(name: car, defaults: false, custom: ["x"]).codenames == ["x"])
        #expect(throws: ValidationError.self) { try ContentType(name: car, custom: ["has.dot"]) }
        #expect(throws: ValidationError.self) {
            try ContentType(name: car, custom: [String(repeating: "c", count: 101)])
        }
        #expect(throws: ValidationError.self) { try PermissionRef(contentType: car, codename: "") }
        #expect(try PermissionRef(contentType: car, codename: "change_car").description == "drivers.change_car")
        // The defaults must fit the codename rule: "change_" + 93 characters is the longest.
        _ = try ContentType(name: ContentTypeName("app." + String(repeating: "m", count: 93)))
        #expect(throws: ValidationError.self) {
            try ContentType(name: ContentTypeName("app." + String(repeating: "m", count: 94)))
        }
        _ = try ContentType(
            name: ContentTypeName("app." + String(repeating: "m", count: 100)),
            defaults: false,
            custom: ["x"]
        )
    }

    @Test("grants check their subject and pk")
    func grants() throws {
        let permission = try PermissionRef(contentType: ContentTypeName("drivers.car"), codename: "change_car")
        let grant = try Grant(subject: .user("42"), permission: permission, pk: "7")
        #expect(grant.object == ObjectRef(contentType: "drivers.car", pk: "7"))
        #expect(try Grant(subject: .group("editors"), permission: permission).object == nil)
        #expect(throws: ValidationError(field: "user", rule: "must be 1..255 bytes of UTF-8 (got 0)")) {
            try Grant(subject: .user(""), permission: permission)
        }
        #expect(throws: ValidationError.self) { try Grant(subject: .user("1"), permission: permission, pk: "") }
        #expect(throws: ValidationError.self) {
            try Grant(subject: .group(String(repeating: "g", count: 151)), permission: permission)
        }
    }

    @Test("decisions allow exactly for the allowing reasons")
    func decisions() {
        let allowing: Set<Decision.Reason> = [
            .superuser, .objectGrantUser, .objectGrantGroup, .modelGrantUser, .modelGrantGroup,
        ]
        for reason in Decision.Reason.allCases { #expect(Decision(reason).allowed == allowing.contains(reason)) }
        #expect(Decision(.objectGrantGroup, group: "editors").description == "allow OBJECT_GRANT_GROUP (group editors)")
        #expect(Revision.zero.next == Revision(1) && Revision(1) < Revision(2))
    }
}
