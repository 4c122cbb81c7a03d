import WardenModel

/// The benchmark data set of DESIGN.md §4, from a fixed seed: 10,000 users, 200 groups,
/// 100,000 objects (80,000 `lab.experiment`s, 20,000 `drivers.car`s) and about 1M grants, or a
/// proportionally larger or smaller one (`grants`, or `scale` of 1M). Shared by the index, store
/// and socket benchmarks.
///
/// Two shapes (issue #20). `shared`: the random grants fall on the fixed objects above, so about
/// ten grants share an object. `distinct`: each random grant names an object of its own, with the
/// pk strings real apps use — 8-digit integers for experiments, paths such as
/// `/home/www/user1234-5.config` for cars. The probes every benchmark reads (user 1's 50,000
/// experiments, the small users' 10, the hot experiment's 100 holders, the groups' model grants)
/// are the same in both shapes.
public struct BenchmarkDataSet: Sendable {
    /// How the random grants spread over objects.
    public enum Shape: String, Sendable, CaseIterable {
        /// About ten grants an object: `experimentCount` + `carCount` objects in all.
        case shared
        /// One object per random grant, with realistic pk strings.
        case distinct
    }

    public let shape: Shape
    /// Registrations, users, groups and memberships.
    public let schema: [Change]
    /// The grants: user 1 (`userID(0)`) holds `bigListCount` experiments, the small users 10 each,
    /// 100 users hold `hotPK`, ten groups change every car, the rest is random.
    public let grants: [Grant]
    public let userCount: Int
    public let groupCount: Int
    public let experimentCount: Int
    public let carCount: Int
    /// The experiments user 1 (`userID(0)`) holds: 50,000 from 1M grants up, fewer below.
    public let bigListCount: Int
    /// Users (by number) that belong to no group and hold exactly 10 experiments (11 with `hotPK`).
    public let smallUsers: ClosedRange<Int>
    public let experimentPerms: [PermissionRef]
    public let carPerms: [PermissionRef]

    /// The experiment 100 users hold directly.
    public static let hotPK = "424242"

    /// The id of user number `n` (`"1"` for 0).
    public static func userID(_ n: Int) -> String { String(n + 1) }
    /// The name of group number `n`.
    public static func groupName(_ n: Int) -> String { "group-\(n)" }

    /// The data set of `scale` × 1M grants, shared shape (the figures of docs/benchmarks.md).
    public init(scale: Double = 1) throws {
        try self.init(scale: scale, shape: .shared)
    }

    /// About `grants` grants of `shape`; users, groups and the fixed objects grow with it (10,000
    /// users per million grants).
    public init(grants: Int, shape: Shape) throws {
        try self.init(scale: Double(grants) / 1_000_000, shape: shape)
    }

    private init(scale: Double, shape: Shape) throws {
        func scaled(_ n: Int) -> Int { max(1, Int(Double(n) * scale)) }
        var random = SplitMix64(seed: 2026)
        let userCount = scaled(10_000)
        let groupCount = max(4, scaled(200))
        let experimentCount = scaled(80_000)
        let carCount = scaled(20_000)
        let grantTarget = scaled(1_000_000)
        // The probes stay the same size as the data grows (issue 20 lists 10 and 50,000 objects
        // at every size); below 1M they shrink with it.
        let bigListCount = min(50_000, scaled(50_000))
        let hotObjectUsers = 100
        let userID: (Int) -> String = Self.userID
        let groupName: (Int) -> String = Self.groupName
        let hotPK = Self.hotPK

        let experiment = try ContentTypeName("lab.experiment")
        let car = try ContentTypeName("drivers.car")
        let experimentType = try ContentType(name: experiment, custom: ["publish_experiment"])
        let carType = try ContentType(name: car, custom: ["drive_car"])
        let experimentPerms = try experimentType.codenames.map {
            try PermissionRef(contentType: experiment, codename: $0)
        }
        let carPerms = try carType.codenames.map { try PermissionRef(contentType: car, codename: $0) }

        var changes: [Change] = [.register(experimentType), .register(carType)]
        for n in 0..<userCount {
            changes.append(.putUser(try User(id: userID(n), username: "user\(n)", isSuperuser: n == userCount - 1)))
        }
        for n in 0..<groupCount { changes.append(.putGroup(name: groupName(n))) }
        // Users 0 and 1..100 ("small" users) belong to no group; everyone else to 1–3 groups.
        let smallUsers = 1...min(100, userCount - 2)
        for n in (smallUsers.upperBound + 1)..<userCount {
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                changes.append(
                    .addMember(user: userID(n), group: groupName(Int.random(in: 0..<groupCount, using: &random)))
                )
            }
        }
        var grants: [Grant] = []
        grants.reserveCapacity(grantTarget)
        // User 0 views ~50k experiments directly.
        for pk in 0..<bigListCount {
            grants.append(try Grant(subject: .user(userID(0)), permission: experimentPerms[3], pk: String(pk)))
        }
        // Small users hold exactly 10 experiments each.
        for n in smallUsers {
            for k in 0..<10 {
                let pk = String((n * 7919 + k * 104_729) % experimentCount)
                grants.append(try Grant(subject: .user(userID(n)), permission: experimentPerms[1], pk: pk))
            }
        }
        // The hot experiment "424242" (outside the numeric range) is held by 100 users directly
        // (the small users, whose lists then hold 11 objects).
        for n in 0..<min(hotObjectUsers, userCount - 1) {
            grants.append(try Grant(subject: .user(userID(1 + n)), permission: experimentPerms[3], pk: hotPK))
        }
        // Model grants: a few groups may change every car.
        for n in 0..<min(10, groupCount) {
            grants.append(try Grant(subject: .group(groupName(n)), permission: carPerms[1]))
        }
        // The rest: random object grants, a tenth to groups, 80% on experiments; in the distinct
        // shape each on an object of its own (`fresh` numbers them).
        var fresh = 0
        func experimentPK() -> String {
            guard shape == .distinct else { return String(Int.random(in: 0..<experimentCount, using: &random)) }
            fresh += 1
            return String(10_000_000 + fresh)
        }
        func carPK() -> String {
            guard shape == .distinct else { return "car-\(Int.random(in: 0..<carCount, using: &random))" }
            fresh += 1
            return "/home/www/user\(fresh % 10_000)-\(fresh).config"
        }
        while grants.count < grantTarget {
            let toGroup = Int.random(in: 0..<10, using: &random) == 0
            let subject: Subject =
                toGroup
                ? .group(groupName(Int.random(in: 0..<groupCount, using: &random)))
                : .user(userID(Int.random(in: (smallUsers.upperBound + 1)..<userCount, using: &random)))
            if Int.random(in: 0..<5, using: &random) > 0 {
                let permission = experimentPerms[Int.random(in: 0..<experimentPerms.count, using: &random)]
                grants.append(
                    try Grant(
                        subject: subject,
                        permission: permission,
                        pk: experimentPK()
                    )
                )
            } else {
                let permission = carPerms[Int.random(in: 0..<carPerms.count, using: &random)]
                grants.append(
                    try Grant(
                        subject: subject,
                        permission: permission,
                        pk: carPK()
                    )
                )
            }
        }
        self.shape = shape
        self.schema = changes
        self.grants = grants
        self.userCount = userCount
        self.groupCount = groupCount
        self.experimentCount = experimentCount
        self.carCount = carCount
        self.smallUsers = smallUsers
        self.bigListCount = bigListCount
        self.experimentPerms = experimentPerms
        self.carPerms = carPerms
    }
}
