import Foundation
import Testing
import WardenClient
import WardenProto

#if canImport(Glibc)
import Glibc
#endif

/// Every `warden` subcommand against a real server process: exit codes, JSON output.
@Suite("The warden command", .serialized)
struct CommandTests {
    @Test("admin subcommands write, query subcommands answer, with the documented exit codes")
    func subcommands() async throws {
        try await withServer { server, _ in
            let socket = ["--socket", server.socketPath, "--json"]
            func run(_ arguments: [String], input: String? = nil) throws -> CommandResult {
                try runWarden(arguments + socket, input: input)
            }
            for arguments in [
                ["register", "lab.experiment", "--custom", "publish_experiment"],
                ["user", "put", "1", "--username", "ada"],
                ["user", "put", "2"], ["user", "put", "9", "--superuser"], ["group", "put", "Maintainer"],
                ["member", "add", "2", "Maintainer"], ["grant", "group:Maintainer", "lab.change_experiment"],
                ["grant", "1", "lab.view_experiment", "--object", "lab.experiment:4"],
                ["grant", "1", "lab.view_experiment", "--object", "lab.experiment:5"],
            ] {
                let result = try run(arguments)
                #expect(result.status == 0, "\(arguments): \(result.error)")
                #expect(result.jsonLines.first?["changed"] as? Bool == true, "\(arguments): \(result.output)")
            }
            // Idempotent: the same grant again changes nothing.
            #expect(
                try run(["grant", "1", "lab.view_experiment", "--object", "lab.experiment:4"]).jsonLines.first?[
                    "changed"
                ] as? Bool == false
            )

            var check = try run(["check", "1", "lab.view_experiment", "--object", "lab.experiment:4"])
            #expect(check.status == 0 && check.jsonLines.first?["reason"] as? String == "OBJECT_GRANT_USER")
            check = try run(["check", "2", "lab.change_experiment", "--object", "lab.experiment:4"])
            #expect(check.status == 0 && check.jsonLines.first?["group"] as? String == "Maintainer")
            check = try run(["check", "2", "lab.change_experiment", "--object", "lab.experiment:4", "--strict"])
            #expect(check.status == 1 && check.jsonLines.first?["reason"] as? String == "NO_GRANT")
            check = try run(["check", "1", "change_experiment"])
            #expect(check.status == 2 && check.error.contains("INVALID_ARGUMENT"))

            let batch = try run(
                ["batch-check"],
                input: """
                    {"user": "1", "perm": "lab.view_experiment", "type": "lab.experiment", "pk": "5"}
                    {"user": "2", "perm": "lab.view_experiment", "type": "lab.experiment", "pk": "5"}
                    {"group": "Maintainer", "perm": "change_experiment", "type": "lab.experiment"}
                    {"user": "1", "perm": "view_experiment"}
                    """
            )
            #expect(batch.status == 0)
            let answers = batch.jsonLines
            #expect(answers.count == 4)
            #expect(
                answers.map { $0["reason"] as? String } == ["OBJECT_GRANT_USER", "NO_GRANT", "MODEL_GRANT_GROUP", nil]
            )
            #expect((answers.last?["error"] as? [String: Any])?["code"] as? String == "INVALID_ARGUMENT")

            #expect(
                try run(["list-objects", "1", "lab.view_experiment"]).jsonLines.first?["pks"] as? [String] == [
                    "4", "5",
                ]
            )
            let unrestricted =
                try run(["list-objects", "9", "lab.view_experiment"]).jsonLines.first?["unrestricted"] as? [String: Any]
            #expect(unrestricted?["reason"] as? String == "SUPERUSER")
            #expect(
                try run(["list-objects", "9", "lab.view_experiment"]).jsonLines.first?["content_type"] as? String
                    == "lab.experiment"
            )
            let subjects = try run(["list-subjects", "lab.experiment:4", "--attach-perms"]).jsonLines.first
            #expect((subjects?["users"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["1", "2"])
            #expect(
                try run(["perms", "2", "lab.experiment:4"]).jsonLines.first?["permissions"] as? [String] == [
                    "change_experiment"
                ]
            )
            #expect(
                try run(["perms", "2", "lab.experiment:4", "--mode", "user"]).jsonLines.first?["permissions"]
                    as? [String] == []
            )
            let several = try run(["perms", "2", "lab.experiment:4", "lab.experiment:5", "--mode", "groups"]).jsonLines
                .first
            let objects = several?["objects"] as? [[String: Any]]
            #expect(objects?.map { $0["pk"] as? String } == ["4", "5"])
            #expect(objects?.map { $0["permissions"] as? [String] } == [["change_experiment"], ["change_experiment"]])
            #expect(try run(["perms", "2", "lab.experiment:4", "lab.other:5"]).error.contains("one content type"))

            #expect(
                try run(["revoke", "1", "lab.view_experiment", "--object", "lab.experiment:5"]).jsonLines.first?[
                    "changed"
                ] as? Bool == true
            )
            #expect(try run(["delete-object", "lab.experiment:4"]).jsonLines.first?["changed"] as? Bool == true)
            #expect(try run(["check", "1", "lab.view_experiment", "--object", "lab.experiment:4"]).status == 1)
            _ = try run(["grant", "1", "lab.view_experiment", "--object", "lab.experiment:6"])
            _ = try run(["grant", "1", "lab.view_experiment", "--object", "lab.experiment:7"])
            let pruned = try run(["prune-orphans", "lab.experiment"], input: "7\n8\n")
            #expect(pruned.jsonLines.first?["pruned"] as? Int == 1, "\(pruned.output) \(pruned.error)")
            #expect(try run(["member", "remove", "2", "Maintainer"]).status == 0)
            #expect(try run(["group", "delete", "Maintainer"]).status == 0)
            #expect(try run(["user", "delete", "2"]).status == 0)

            let events = try run(["watch", "--from", "0", "--count", "3"]).jsonLines
            #expect(events.map { $0["kind"] as? String } == ["CONTENT_TYPE_REGISTERED", "USER_PUT", "USER_PUT"])
            #expect(events.map { $0["revision"] as? Int } == [1, 2, 3])
            let grants = try run(["watch", "--from", "0", "--kind", "GRANT_ADDED", "--count", "2"]).jsonLines
            #expect(grants.compactMap { ($0["grant"] as? [String: Any])?["pk"] as? String } == ["4", "5"])

            let stats = try run(["stats"]).jsonLines.first
            #expect(stats?["users"] as? Int == 2 && stats?["groups"] as? Int == 0)
            let prometheus = try runWarden(["stats", "--prometheus", "--socket", server.socketPath])
            #expect(prometheus.output.contains("# TYPE warden_requests counter"))
            #expect(prometheus.output.contains("warden_requests{method=\"check\"}"))
            #expect(prometheus.output.contains("warden_request_duration_seconds_bucket{method=\"check\",le=\"+Inf\"}"))
            #expect(try run(["health"]).status == 0)
            let missing = try runWarden([
                "health", "--socket", server.folder.appendingPathComponent("nothing.sock").path,
            ])
            #expect(missing.status == 2 && missing.error.contains("UNAVAILABLE"))
            let usage = try runWarden(["member", "join", "1", "g", "--socket", server.socketPath])
            #expect(usage.status == 2 && usage.error.contains("add or remove"))
        }
    }

    @Test("configuration: a flag wins over the environment, which wins over the file; bad settings are named")
    func precedence() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "warden-config-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("warden.json")
        try Data(#"{"socket_mode": "0600", "accept_global_perms": false, "log_format": "json"}"#.utf8).write(to: file)
        func mode(_ server: ServerProcess) -> mode_t {
            var info = stat()
            _ = stat(server.socketPath, &info)
            return info.st_mode & 0o777
        }
        let cases: [([String: String], [String], mode_t)] = [
            (["WARDEN_CONFIG": file.path, "WARDEN_SYNCHRONOUS": "normal"], [], 0o600),
            (["WARDEN_CONFIG": file.path, "WARDEN_SOCKET_MODE": "0640"], [], 0o640),
            (["WARDEN_CONFIG": file.path, "WARDEN_SOCKET_MODE": "0640"], ["--socket-mode", "0620"], 0o620),
        ]
        for (environment, arguments, expected) in cases {
            let server = try await ServerProcess(environment: environment, arguments: arguments)
            #expect(mode(server) == expected, "\(environment) \(arguments)")
            // The file's accept_global_perms=false and log_format=json apply too.
            let warden = try await server.connect()
            _ = try await warden.registerContentType("lab.experiment")
            _ = try await warden.putUser("1")
            _ = try await warden.putGroup("g")
            _ = try await warden.addMember(user: "1", group: "g")
            _ = try await warden.grant(Warden_V1_Grant(.group("g"), "lab.view_experiment"))
            let answer = try await warden.check(
                .user("1"),
                "lab.view_experiment",
                object: Warden_V1_ObjectRef("lab.experiment", "1")
            )
            #expect(answer.decision.reason == .noGrant)
            await warden.close()
            #expect(server.stop() == 0)
            #expect(server.output.contains(#""level":"info""#), "JSON logs: \(server.output.prefix(300))")
            server.removeFolder()
        }
        // Bad settings stop the start and name the setting and its source.
        let bad: [([String: String], [String], String)] = [
            ([:], ["--max-in-flight", "zero"], "max_in_flight (flag --max-in-flight)"),
            (["WARDEN_SOCKET_MODE": "rw"], [], "socket_mode (environment variable WARDEN_SOCKET_MODE)"),
            (["WARDEN_RETENTION_AGE": "7 days"], [], "retention_age"),
            (["WARDEN_LOG_LEVEL": "loud"], [], "log_level"),
            (["WARDEN_SYNCHRONOUS": "off"], [], "synchronous"),
        ]
        for (environment, arguments, named) in bad {
            let result = try runWarden(
                [
                    "serve", "--socket", folder.appendingPathComponent("x.sock").path,
                    "--database", folder.appendingPathComponent("x.db").path,
                ] + arguments,
                environment: environment
            )
            #expect(result.status != 0)
            #expect(result.error.contains(named), "\(result.error)")
        }
        try Data(#"{"sockett": "/tmp/x"}"#.utf8).write(to: file)
        let unknown = try runWarden(["serve"], environment: ["WARDEN_CONFIG": file.path])
        #expect(unknown.status != 0 && unknown.error.contains("unknown setting \"sockett\""), "\(unknown.error)")
    }
}
