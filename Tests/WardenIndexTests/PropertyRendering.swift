import WardenIndex
import WardenModel

// Rendering of answers for the property tests: the index's and the reference's answers are
// written as the same text (compared as text), and mismatches are reported with the reference's
// whole state. See PropertyTests.swift for an overview.

// MARK: Rendering answers

/// `string` with every non-printable-ASCII scalar (and `\`) written `\u{HEX}`: precomposed and
/// decomposed forms read differently, and two renderings are equal exactly when the bytes are.
func esc(_ string: String) -> String {
    var out = ""
    for scalar in string.unicodeScalars {
        if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\\" {
            out.unicodeScalars.append(scalar)
        } else {
            out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        }
    }
    return out
}

func quoted(_ string: String) -> String { "\"" + esc(string) + "\"" }
func quoted(_ bytes: RefBytes) -> String { quoted(refString(bytes)) }

func render(_ decision: Decision) -> String {
    (decision.allowed ? "allow " : "deny ") + decision.reason.rawValue
        + (decision.group.map { " group=" + quoted($0) } ?? "")
}

func renderPage(_ pks: [String], more: Bool) -> String {
    "objects [" + pks.map(quoted).joined(separator: ", ") + "]" + (more ? " +more" : "")
}

func render(_ list: ObjectList) -> String {
    switch list {
    case .unrestricted(let decision): "unrestricted " + render(decision)
    case .objects(let pks, let token): renderPage(pks, more: token != nil)
    }
}

func render(_ list: SubjectList) -> String {
    func entry(_ access: SubjectAccess) -> String {
        quoted(access.name) + "{" + access.permissions.map(esc).joined(separator: ",") + "}"
    }
    return "users [" + list.users.map(entry).joined(separator: ", ") + "] groups ["
        + list.groups.map(entry).joined(separator: ", ") + "]"
}

func render(_ list: ReferenceEvaluator.SubjectsAnswer) -> String {
    func entry(_ subject: ReferenceEvaluator.SubjectEntry) -> String {
        quoted(subject.name) + "{" + subject.codenames.map { esc(refString($0)) }.joined(separator: ",") + "}"
    }
    return "users [" + list.users.map(entry).joined(separator: ", ") + "] groups ["
        + list.groups.map(entry).joined(separator: ", ") + "]"
}

func render(_ codenames: [String]) -> String { "[" + codenames.map(esc).joined(separator: ", ") + "]" }

func render(_ lists: [[String]]) -> String { "[" + lists.map(render).joined(separator: " ") + "]" }

func render(_ sets: PermissionSets) -> String { "sets " + render((0..<sets.count).map(sets.codenames(of:))) }

/// A coarse class of an answer: its kind and outcome, without names.
func answerCategory(_ kind: String, _ answer: String) -> String {
    let kind = kind.split(separator: " ").prefix(kind.hasPrefix("check batch") ? 2 : 1).joined(separator: " ")
    if answer.hasPrefix("error") || answer.hasPrefix("allow") || answer.hasPrefix("deny")
        || answer.hasPrefix("unrestricted")
    {
        return kind + ": " + answer.split(separator: " ").prefix(2).joined(separator: " ")
    }
    if answer.hasPrefix("sets [") {
        let objects = answer.filter { $0 == "[" }.count - 1
        let held = answer.dropFirst("sets ".count).contains(where: \.isLetter)
        return kind + ": \(min(objects, 2))\(objects >= 2 ? "+" : "") objects"
            + (held ? ", some codenames" : ", no codename")
    }
    if answer.hasPrefix("objects") {
        let count = answer.hasPrefix("objects []") ? 0 : answer.split(separator: ",").count
        return kind + ": objects " + (count >= 2 ? "2+" : "\(count)") + (answer.hasSuffix("+more") ? " +more" : "")
    }
    if answer.hasPrefix("users") {
        let parts = answer.components(separatedBy: "] groups [")
        let users = parts[0] == "users [" ? 0 : parts[0].split(separator: "{").count - 1
        let groups = parts[1] == "]" ? 0 : parts[1].split(separator: "{").count - 1
        return kind
            + ": users \(min(users, 2))\(users >= 2 ? "+" : "") groups \(min(groups, 2))\(groups >= 2 ? "+" : "")"
    }
    let count = answer == "[]" ? 0 : answer.split(separator: ",").count
    return kind + ": \(min(count, 3))\(count >= 3 ? "+" : "") codenames"
}

// MARK: Rendering the reference's state

extension PropertyRun {
    /// The reference's whole state, for the first mismatch of a seed.
    func stateDump() -> String {
        var parts: [String] = []
        for id in reference.sortedUserIDs() {
            let user = reference.users[id]!
            parts.append(
                "user \(quoted(id)) active=\(user.isActive) superuser=\(user.isSuperuser)"
                    + (user.username.map { " username=" + quoted($0) } ?? "")
            )
        }
        parts.append("groups " + reference.sortedGroups().map(quoted).joined(separator: " "))
        for membership in reference.memberships.sorted(by: {
            refBytePrecedes($0.user + [0] + $0.group, $1.user + [0] + $1.group)
        }) {
            parts.append("member \(quoted(membership.user)) in \(quoted(membership.group))")
        }
        for type in reference.contentTypes {
            parts.append("type \(refString(type.name)) " + type.codenames.map(refString).joined(separator: ","))
        }
        for grant in reference.sortedGrants() {
            let subject: String =
                switch grant.subject {
                case .user(let id): "user " + quoted(id)
                case .group(let name): "group " + quoted(name)
                }
            parts.append(
                "grant \(subject) \(refString(grant.contentType)).\(refString(grant.codename))"
                    + (grant.pk.map { " pk " + quoted($0) } ?? " (model)")
            )
        }
        return parts.joined(separator: "; ")
    }
}
