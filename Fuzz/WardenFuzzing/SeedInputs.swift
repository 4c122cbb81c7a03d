import NIOCore
import SwiftProtobuf
import WardenProto
import WardenWire

/// Valid inputs for each fuzz target, named: the committed seed corpus (`Fuzz/corpus/<target>/`,
/// written by `scripts/fuzz.sh --write-seeds`) and the bases the random-bytes tests mutate.
public enum SeedInputs {
    /// Request bodies for every method, valid against the sample state (a few refused on purpose).
    public static func requestBodies() -> [(name: String, method: Warden_V1_Method, body: [UInt8])] {
        func subject(_ user: String) -> Warden_V1_Subject { .with { $0.user = user } }
        func object(_ type: String, _ pk: String) -> Warden_V1_ObjectRef {
            .with {
                $0.contentType = type
                $0.pk = pk
            }
        }
        let check = Warden_V1_CheckRequest.with {
            $0.subject = subject("1")
            $0.permission = "lab.change_experiment"
            $0.object = object("lab.experiment", "7")
        }
        let item = Warden_V1_CheckItem.with {
            $0.subject.group = "editors"
            $0.permission = "view_car"
            $0.contentType = "drivers.car"
            $0.acceptGlobalPerms = true
        }
        let grant = Warden_V1_Grant.with {
            $0.subject = subject("42")
            $0.permission = "lab.change_experiment"
            $0.pk = "8"
        }
        let user = Warden_V1_User.with {
            $0.id = "43"
            $0.username = "eve"
            $0.isActive = true
        }
        let messages: [(String, Warden_V1_Method, any SwiftProtobuf.Message)] = [
            ("check", .check, check),
            (
                "check-min-revision", .check,
                Warden_V1_CheckRequest.with {
                    $0 = check
                    $0.minRevision = 1
                    $0.acceptGlobalPerms = false
                }
            ),
            (
                "check-model", .check,
                Warden_V1_CheckRequest.with {
                    $0.subject = subject("1")
                    $0.permission = "lab.view_experiment"
                }
            ),
            (
                "batch-check", .batchCheck,
                Warden_V1_BatchCheckRequest.with {
                    $0.items = [
                        item,
                        .with {
                            $0.subject = subject("42")
                            $0.permission = "drivers.drive_car"
                            $0.object = object("drivers.car", "car-1")
                        },
                        .with {
                            $0.subject = subject("2")
                            $0.permission = "lab.view_experiment"
                            $0.object = object("lab.experiment", "7")
                        },
                    ]
                }
            ),
            (
                "list-objects", .listObjects,
                Warden_V1_ListObjectsRequest.with {
                    $0.subject = subject("1")
                    $0.permissions = ["lab.change_experiment", "lab.view_experiment"]
                    $0.anyPerm = true
                    $0.pageSize = 10
                    $0.pageToken = "o37"
                }
            ),
            (
                "list-subjects", .listSubjects,
                Warden_V1_ListSubjectsRequest.with {
                    $0.object = object("drivers.car", "car-1")
                    $0.permissions = ["drive_car"]
                    $0.withSuperusers = true
                    $0.attachPerms = true
                }
            ),
            (
                "get-permissions", .getPermissions,
                Warden_V1_GetPermissionsRequest.with {
                    $0.subject = subject("42")
                    $0.object = object("drivers.car", "car-1")
                    $0.mode = .groupsOnly
                }
            ),
            (
                "grant", .grant,
                Warden_V1_GrantRequest.with {
                    $0.grant = grant
                    $0.actor = "3"
                }
            ),
            (
                "revoke", .revoke,
                Warden_V1_GrantRequest.with {
                    $0.grant = .with {
                        $0.subject.group = "editors"
                        $0.permission = "view_car"
                        $0.contentType = "drivers.car"
                    }
                }
            ),
            (
                "bulk-grant", .bulkGrant,
                Warden_V1_BulkGrantRequest.with {
                    $0.grants = [
                        grant, grant,
                        .with {
                            $0 = grant
                            $0.pk = "9"
                        },
                        .with {
                            $0.subject.group = "editors"
                            $0.permission = "lab.view_experiment"
                        },
                    ]
                    $0.actor = "1"
                }
            ),
            ("bulk-revoke", .bulkRevoke, Warden_V1_BulkGrantRequest.with { $0.grants = [grant] }),
            (
                "put-user", .putUser,
                Warden_V1_PutUserRequest.with {
                    $0.user = user
                    $0.actor = "1"
                }
            ),
            ("delete-user", .deleteUser, Warden_V1_DeleteUserRequest.with { $0.id = "2" }),
            ("put-group", .putGroup, Warden_V1_GroupRequest.with { $0.name = "reviewers" }),
            (
                "delete-group", .deleteGroup,
                Warden_V1_GroupRequest.with {
                    $0.name = "editors"
                    $0.actor = "42"
                }
            ),
            (
                "add-member", .addMember,
                Warden_V1_MemberRequest.with {
                    $0.user = "1"
                    $0.group = "editors"
                }
            ),
            (
                "remove-member", .removeMember,
                Warden_V1_MemberRequest.with {
                    $0.user = "42"
                    $0.group = "editors"
                }
            ),
            (
                "register-content-type", .registerContentType,
                Warden_V1_RegisterContentTypeRequest.with {
                    $0.contentType = "blog.post"
                    $0.defaults = false
                    $0.custom = ["publish_post", "view_post"]
                }
            ),
            (
                "delete-object", .deleteObject,
                Warden_V1_DeleteObjectRequest.with { $0.object = object("lab.experiment", "7") }
            ),
            (
                "prune-orphans", .pruneOrphans,
                Warden_V1_PruneOrphansRequest.with {
                    $0.contentType = "lab.experiment"
                    $0.livePks = ["7", "8"]
                }
            ),
            (
                "write-batch", .writeBatch,
                Warden_V1_WriteBatchRequest.with {
                    $0.records = [
                        .with {
                            $0.contentType = .with {
                                $0.contentType = "blog.post"
                                $0.custom = ["publish_post"]
                            }
                        },
                        .with { $0.user = user },
                        .with { $0.group = "reviewers" },
                        .with {
                            $0.member = .with {
                                $0.user = "43"
                                $0.group = "reviewers"
                            }
                        },
                        .with {
                            $0.grant = .with {
                                $0.subject.group = "reviewers"
                                $0.permission = "blog.publish_post"
                            }
                        },
                    ]
                }
            ),
            (
                "watch", .watch,
                Warden_V1_WatchRequest.with {
                    $0.afterRevision = 0
                    $0.kinds = [.grantAdded, .permissionChecked]
                    $0.contentTypes = ["lab.experiment"]
                    $0.auditChecks = true
                    $0.auditSampleRate = 0.5
                }
            ),
            ("health", .health, Warden_V1_HealthRequest()),
            ("stats", .stats, Warden_V1_StatsRequest()),
            ("export", .export, Warden_V1_ExportRequest.with { $0.chunkSize = 100 }),
            (
                "batch-get-permissions", .batchGetPermissions,
                Warden_V1_BatchGetPermissionsRequest.with {
                    $0.subject = subject("42")
                    $0.contentType = "lab.experiment"
                    $0.pks = ["7", "8", "7", "/home/www/joe.config"]
                    $0.mode = .both
                    $0.acceptGlobalPerms = false
                }
            ),
        ]
        return messages.map { name, method, message in (name, method, (try? message.serializedBytes()) ?? []) }
    }

    /// Inputs of `RequestDecoding.run`: the method's selector byte, then the body.
    public static func requests() -> [(name: String, input: [UInt8])] {
        requestBodies().map { name, method, body in
            (name, [UInt8(RequestDecoding.methods.firstIndex(of: method)!)] + body)
        }
    }

    /// A frame's bytes.
    public static func frame(
        id: UInt32,
        method: Warden_V1_Method,
        flags: Frame.Flags = [],
        timeout: UInt32 = 0,
        body: [UInt8]
    )
        -> [UInt8]
    {
        var buffer = ByteBuffer()
        Frame(
            requestID: id,
            method: UInt16(method.rawValue),
            flags: flags,
            timeoutMilliseconds: timeout,
            body: ByteBuffer(bytes: body)
        )
        .write(to: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Inputs of `FrameCutting.run`: a limit selector, cuts, then a stream of frames.
    public static func frames() -> [(name: String, input: [UInt8])] {
        let bodies = requestBodies()
        let stream = bodies.enumerated().flatMap { position, request in
            frame(id: UInt32(position + 1), method: request.method, flags: .endStream, timeout: 250, body: request.body)
        }
        let first = bodies[0]
        let bulk = bodies.first { $0.method == .bulkGrant }!
        return [
            // Default limit (selector 6), no cuts: every request as a frame.
            ("every-method", [6, 0] + stream),
            // Cut into chunks of 1, 5, 16 and 3 bytes, then the rest.
            ("cut", [6, 4, 1, 5, 16, 3] + stream),
            // A bulk stream in two chunks, then a cancel of another id.
            (
                "stream-and-cancel",
                [5, 2, 7, 30] + frame(id: 9, method: .bulkGrant, body: bulk.body)
                    + frame(id: 9, method: .bulkGrant, flags: .endStream, body: bulk.body)
                    + frame(id: 10, method: .watch, flags: .cancel, body: [])
            ),
            // A frame past the limit (selector 3: 40 bytes), and a length below the header.
            ("too-large", [3, 0] + frame(id: 1, method: .check, body: first.body)),
            ("length-too-small", [6, 0, 0, 0, 0, 3, 1, 2, 3]),
            ("length-4gib", [6, 1, 2, 0xff, 0xff, 0xff, 0xff] + Array(repeating: 0, count: 12)),
            // A frame whose last bytes never arrive.
            ("truncated", [6, 0] + frame(id: 1, method: .check, body: first.body).dropLast(3)),
        ]
    }

    /// Inputs of `ImportParsing.run`: import files, valid and not.
    public static func imports() -> [(name: String, input: [UInt8])] {
        let jsonl = """
            {"kind": "content_type", "content_type": "lab.experiment", "custom": ["publish_experiment"]}
            {"kind": "content_type", "content_type": "drivers.car", "codenames": ["drive_car", "view_car"]}
            {"kind": "user", "user": "42", "username": "joe", "is_active": true, "is_superuser": false}
            {"kind": "group", "group": "editors"}
            {"kind": "member", "user": "42", "group": "editors"}
            {"kind": "grant", "user": "42", "perm": "lab.change_experiment", "pk": "7"}
            {"kind": "grant", "group": "editors", "perm": "view_car", "content_type": "drivers.car"}

            """
        let csv = """
            kind,user,group,username,is_active,is_superuser,content_type,codenames,perm,pk
            content_type,,,,,,lab.experiment,publish_experiment view_experiment,,
            user,42,,"joe, ""the"" user",true,false,,,,
            user,43,,,0,yes,,,,
            group,,editors,,,,,,,
            member,42,editors,,,,,,,
            grant,42,,,,,,,lab.change_experiment,7
            grant,,editors,,,,drivers.car,,view_car,

            """
        return [
            ("every-kind.jsonl", jsonl),
            ("every-kind.csv", csv),
            (
                "custom-list.jsonl",
                #"{"kind": "content_type", "content_type": "blog.post", "custom": "publish_post review_post", "defaults": "no"}"#
                    + "\n"
            ),
            ("unknown-kind.jsonl", #"{"kind": "role", "role": "x"}"# + "\n"),
            ("missing-field.jsonl", #"{"kind": "member", "user": "42"}"# + "\n"),
            ("bad-flag.jsonl", #"{"kind": "user", "user": "1", "is_active": "maybe"}"# + "\n"),
            ("not-json.jsonl", "{\"kind\": \"group\", \"group\": \"a\"}\nkind=group\n"),
            ("unknown-column.csv", "kind,user,role\nuser,1,admin\n"),
            ("quoted-newline.csv", "kind,group\ngroup,\"two\nlines\"\n"),
        ].map { ($0.0, Array($0.1.utf8)) }
    }
}
