import WardenModel

#if canImport(Glibc)
import Glibc
#endif

/// A check given as UTF-8 bytes borrowed from a request's buffer: the transport's fast path,
/// which builds no `String`. Valid only while the buffer is.
public struct RawCheckRequest {
    /// The user's id; `nil` when the subject is a group or absent (the fast path then declines).
    public var user: UnsafeRawBufferPointer?
    /// The permission string as sent.
    public var permission: UnsafeRawBufferPointer
    /// The object's content type; `nil` for a model-level check.
    public var objectType: UnsafeRawBufferPointer?
    /// The object's pk (empty for a model-level check).
    public var pk: UnsafeRawBufferPointer
    /// Whether the request named an explicit content type (the fast path then declines).
    public var hasContentType: Bool
    /// Whether model grants imply object access; `nil`: the index's setting.
    public var acceptGlobalPerms: Bool?

    public init(
        user: UnsafeRawBufferPointer?,
        permission: UnsafeRawBufferPointer,
        objectType: UnsafeRawBufferPointer?,
        pk: UnsafeRawBufferPointer,
        hasContentType: Bool,
        acceptGlobalPerms: Bool?
    ) {
        self.user = user
        self.permission = permission
        self.objectType = objectType
        self.pk = pk
        self.hasContentType = hasContentType
        self.acceptGlobalPerms = acceptGlobalPerms
    }
}

extension PermissionIndex {
    /// Decides the common case — a registered user, an `app.codename` registered for the
    /// object's type (or the only type having it, without an object) — straight from bytes.
    /// `nil` for anything else: the caller then builds a `CheckRequest` and calls `check`, which
    /// answers every case, errors included. Where it answers, it answers as `check` would.
    public func check(raw request: RawCheckRequest) -> Evaluated<Decision>? {
        let answer = try! read { (state) throws(IndexError) in state.decide(request, settings) }
        return answer.value.map { Evaluated(value: $0, revision: answer.revision) }
    }

    /// Decides a batch at one revision: each item from bytes when it can, else through
    /// `fallback`'s `CheckRequest`. `nil` when `fallback` returns `nil` (the caller's decoding
    /// found the request invalid as a whole).
    public func check(
        raw requests: [RawCheckRequest],
        fallback: (Int) -> CheckRequest?
    )
        -> Evaluated<[Result<Decision, IndexError>]>?
    {
        let answer = try! read { (state) throws(IndexError) -> [Result<Decision, IndexError>]? in
            var results: [Result<Decision, IndexError>] = []
            results.reserveCapacity(requests.count)
            for (position, request) in requests.enumerated() {
                if let decision = state.decide(request, settings) {
                    results.append(.success(decision))
                    continue
                }
                guard let slow = fallback(position) else { return nil }
                do throws(IndexError) {
                    results.append(.success(try state.check(slow, settings)))
                } catch {
                    results.append(.failure(error))
                }
            }
            return results
        }
        return answer.value.map { Evaluated(value: $0, revision: answer.revision) }
    }
}

extension IndexState {
    func decide(_ request: RawCheckRequest, _ settings: PermissionIndex.Settings) -> Decision? {
        guard let userBytes = request.user, !request.hasContentType,
            let name = permissionNames.find(request.permission)
        else { return nil }
        let candidates = permissionsOfName[Int(name)]
        let permission: UInt32
        var slot: UInt32?
        if let typeBytes = request.objectType {
            guard
                let match = candidates.first(where: {
                    Self.equal(types[Int(permissions[Int($0)].type)].name.description, typeBytes)
                })
            else { return nil }
            permission = match
            // The pk's rule (1..255 bytes, no NUL, UTF-8): a found key passed it when it was stored.
            let pk = request.pk
            guard pk.count >= 1, pk.count <= Limits.maxIdentifierBytes, memchr(pk.baseAddress!, 0, pk.count) == nil
            else {
                return nil
            }
            slot = types[Int(permissions[Int(permission)].type)].objects.find(pk)
            if slot == nil, String(validating: pk.bindMemory(to: UInt8.self), as: UTF8.self) == nil { return nil }
        } else {
            guard candidates.count == 1 else { return nil }
            permission = candidates[0]
        }
        guard let uid = userIDs.find(userBytes) else { return nil }
        let flags = userFlags[Int(uid)]
        guard flags & UserFlags.active != 0 else { return Decision(.inactiveUser) }
        if flags & UserFlags.superuser != 0 { return Decision(.superuser) }
        let useModelGrants = request.objectType == nil || (request.acceptGlobalPerms ?? settings.acceptGlobalPerms)
        return decide(uid, permission, slot: slot, useModelGrants: useModelGrants)
    }

    /// Whether a stored string's UTF-8 is exactly `bytes`.
    @inline(__always)
    static func equal(_ string: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var string = string
        return string.withUTF8 { utf8 in
            utf8.count == bytes.count
                && (utf8.count == 0 || memcmp(utf8.baseAddress!, bytes.baseAddress!, utf8.count) == 0)
        }
    }
}
