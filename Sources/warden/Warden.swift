import ArgumentParser

/// `warden`: the sidecar and the commands that talk to it.
@main
struct Warden: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract: "Warden: Django permissions answered from an in-memory index over a Unix socket.",
        discussion: """
            `warden serve` runs the sidecar. Every other command except `demo` talks to a running \
            server over its socket (--socket, WARDEN_SOCKET, default ./var/warden.sock). Subjects are \
            written `42` or `user:42` for a user and `group:NAME` for a group; objects `app.model:pk` \
            (the pk is everything after the first colon). Commands print text, or JSON with --json. \
            Exit status: 0 success (for check: allowed), 1 check denied, 2 error.
            """,
        subcommands: [
            Serve.self, Check.self, BatchCheck.self, ListObjects.self, ListSubjects.self, Perms.self,
            GrantCommand.self, RevokeCommand.self, UserCommand.self, GroupCommand.self, MemberCommand.self,
            Register.self, DeleteObject.self, PruneOrphans.self, Watch.self, Stats.self, Health.self,
            Import.self, Export.self, Backup.self, Demo.self,
        ]
    )
}
