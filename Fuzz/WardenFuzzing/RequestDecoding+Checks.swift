#if DEBUG || WARDEN_FUZZING
import NIOCore
import WardenIndex
import WardenModel
import WardenProto
@testable import WardenServer
import WardenService

extension RequestDecoding {
    /// Check: the Check codec and swift-protobuf read the same request; `check(raw:)` decides as
    /// `check` does; the fast path (`fastCheck`) answers as the generic path would.
    static func check(
        _ body: ByteBuffer,
        _ service: WardenService,
        _ disagreements: inout [String]
    ) throws(ServiceError) {
        let generic = Result { () throws(ServiceError) in try decode(Warden_V1_CheckRequest.self, body) }
        let fast = body.withUnsafeReadableBytes { bytes -> Result<Evaluated<Decision>, ServiceError>? in
            guard let fields = CheckCodec.check(bytes) else { return nil }
            let request = fields.request(bytes)
            compare(
                request,
                fields.minRevision,
                with: generic.map { ($0.minRevision, ProtoMapping.check($0)) },
                "",
                &disagreements
            )
            guard service.hasReached(Revision(fields.minRevision)) else { return nil }
            if let raw = service.check(raw: fields.raw(bytes)) {
                compare(raw: raw, request, service.index, "", &disagreements)
                return .success(raw)
            }
            guard let request else { return nil }
            return Result { () throws(ServiceError) in try service.check(request) }
        }
        let request = try generic.get()
        guard service.hasReached(Revision(request.minRevision)) else { return }  // the server waits on the pool
        let slow = Result { () throws(ServiceError) in try service.check(ProtoMapping.check(request)) }
        if let fast, !same(fast.map(\.value), slow.map(\.value)) {
            disagreements.append(
                "fast path answered \(describe(fast.map(\.value))), generic path \(describe(slow.map(\.value)))"
            )
        }
        _ = try (fast ?? slow).get()
    }

    /// BatchCheck: the same, item by item, for `fastBatchCheck`'s evaluation.
    static func batchCheck(
        _ body: ByteBuffer,
        _ service: WardenService,
        _ disagreements: inout [String]
    ) throws(ServiceError) {
        typealias Answers = Evaluated<[Result<Decision, IndexError>]>
        let generic = Result { () throws(ServiceError) in try decode(Warden_V1_BatchCheckRequest.self, body) }
        let fast = body.withUnsafeReadableBytes { bytes -> Result<Answers, ServiceError>? in
            guard let (items, minRevision) = CheckCodec.batch(bytes) else { return nil }
            let requests = items.map { $0.request(bytes) }
            switch generic {
            case .success(let decoded) where decoded.items.count == items.count:
                for (position, item) in decoded.items.enumerated() {
                    // A CheckItem has no min_revision: the codec's reading of field 6 is unused.
                    let unused = items[position].minRevision
                    compare(
                        requests[position],
                        unused,
                        with: .success((unused, ProtoMapping.check(item))),
                        "items[\(position)]: ",
                        &disagreements
                    )
                }
                if decoded.minRevision != minRevision {
                    disagreements.append("min_revision: codec \(minRevision), swift-protobuf \(decoded.minRevision)")
                }
            case .success(let decoded):
                disagreements.append("items: codec read \(items.count), swift-protobuf \(decoded.items.count)")
            case .failure(let error) where !requests.contains(nil):
                disagreements.append("the codec read every item; swift-protobuf refused: \(error)")
            case .failure:
                break
            }
            guard service.hasReached(Revision(minRevision)) else { return nil }
            for (position, item) in items.enumerated() {
                if let raw = service.check(raw: item.raw(bytes)) {
                    compare(raw: raw, requests[position], service.index, "items[\(position)]: ", &disagreements)
                }
            }
            let answers = Result { () throws(ServiceError) -> Answers? in
                try service.check(raw: items.map { $0.raw(bytes) }) { requests[$0] }
            }
            switch answers {
            case .success(let value?): return .success(value)
            case .success(nil): return nil
            case .failure(let error): return .failure(error)
            }
        }
        let request = try generic.get()
        guard service.hasReached(Revision(request.minRevision)) else { return }
        let slow = Result { () throws(ServiceError) in try service.check(request.items.map(ProtoMapping.check)) }
        if let fast, !same(fast.map { $0.value }, slow.map { $0.value }) {
            disagreements.append(
                "fast path answered \(describe(fast.map { $0.value })), generic path \(describe(slow.map { $0.value }))"
            )
        }
        _ = try (fast ?? slow).get()
    }

    /// The codec's reading (`request` nil: a string it found not UTF-8) against swift-protobuf's.
    static func compare(
        _ request: CheckRequest?,
        _ minRevision: UInt64,
        with generic: Result<(UInt64, CheckRequest), ServiceError>,
        _ prefix: String,
        _ disagreements: inout [String]
    ) {
        switch (request, generic) {
        case (let request?, .success(let (decodedRevision, decoded))):
            if request != decoded { disagreements.append("\(prefix)codec read \(request), swift-protobuf \(decoded)") }
            if minRevision != decodedRevision {
                disagreements.append("\(prefix)min_revision: codec \(minRevision), swift-protobuf \(decodedRevision)")
            }
        case (.some(let request), .failure(let error)):
            disagreements.append("\(prefix)codec read \(request); swift-protobuf refused: \(error)")
        case (nil, .success(let (_, decoded))):
            disagreements.append("\(prefix)codec found a string not UTF-8; swift-protobuf read \(decoded)")
        case (nil, .failure):
            break
        }
    }

    /// `check(raw:)`'s answer against `check`'s for the same request.
    static func compare(
        raw: Evaluated<Decision>,
        _ request: CheckRequest?,
        _ index: PermissionIndex,
        _ prefix: String,
        _ disagreements: inout [String]
    ) {
        guard let request else {
            disagreements.append("\(prefix)check(raw:) answered \(raw.value) for a request with a string not UTF-8")
            return
        }
        let checked = Result { () throws(IndexError) in try index.check(request).value }
        if checked != .success(raw.value) {
            disagreements.append("\(prefix)check(raw:) answered \(raw.value), check \(checked) for \(request)")
        }
    }
}
#endif
