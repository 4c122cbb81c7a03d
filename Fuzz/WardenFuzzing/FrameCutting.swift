import NIOCore
import NIOEmbedded
import WardenWire

/// Fuzz target 1: a byte stream cut into frames, arriving in chunks. Three readers must see the
/// same frames and the same end: a one-shot reference (`FrameDecoder.next` over the whole
/// stream), the server's way (`ConnectionHandler.channelRead`: a pending partial frame, swapped
/// with the next read) and the client's way (`ByteToMessageHandler(FrameDecoder)` in a channel).
///
/// Input: byte 0 picks the frame size limit, byte 1 (low 4 bits) the number of cuts, then one
/// byte per cut (the chunk's length), then the stream.
public enum FrameCutting {
    /// Frame size limits byte 0 picks from: below a header, a header, small, the default.
    static let limits = [0, 12, 16, 40, 255, 4096, 4 << 20]

    /// What the reference reader saw, and where the readers disagreed.
    public struct Outcome: Sendable {
        /// Whole frames before the end or the error.
        public var frames = 0
        /// Why the stream stopped, if it did: a `FrameError`.
        public var error: FrameError?
        /// Bytes of an incomplete frame at the end.
        public var leftover = 0
        /// Each place the readers did not agree; empty when they did.
        public var disagreements: [String] = []
    }

    /// The frame as comparable values (the body's bytes, not the buffer).
    struct Seen: Equatable {
        var requestID: UInt32, method: UInt16, flags: UInt8, status: UInt8, timeout: UInt32, body: [UInt8]

        init(_ frame: Frame) {
            (requestID, method, flags, status, timeout) = (
                frame.requestID, frame.method, frame.flags.rawValue, frame.status, frame.timeoutMilliseconds
            )
            body = Array(frame.body.readableBytesView)
        }
    }

    /// `clientWay: false` skips the channel reader (the slowest of the three), for tests that
    /// run many inputs in a debug build.
    public static func run(_ input: [UInt8], clientWay: Bool = true) -> Outcome {
        var bytes = input[...]
        let limit = limits[Int(bytes.popFirst() ?? 0) % limits.count]
        let cuts = Int((bytes.popFirst() ?? 0) & 0x0f)
        var chunkLengths: [Int] = []
        for _ in 0..<cuts { chunkLengths.append(Int(bytes.popFirst() ?? 0)) }
        let stream = Array(bytes)
        var chunks: [[UInt8]] = []
        var start = 0
        for length in chunkLengths where start < stream.count {
            chunks.append(Array(stream[start..<min(start + length, stream.count)]))
            start += length
        }
        if start < stream.count { chunks.append(Array(stream[start...])) }

        var outcome = Outcome()
        let reference = oneShot(stream, limit: limit)
        outcome.frames = reference.frames.count
        outcome.error = reference.error
        outcome.leftover = reference.leftover
        // Each frame written back is the bytes it was read from.
        var rewritten = ByteBuffer()
        for seen in reference.frames {
            Frame(
                requestID: seen.requestID,
                method: seen.method,
                flags: Frame.Flags(rawValue: seen.flags),
                status: seen.status,
                timeoutMilliseconds: seen.timeout,
                body: ByteBuffer(bytes: seen.body)
            ).write(to: &rewritten)
        }
        if Array(rewritten.readableBytesView) != Array(stream.prefix(rewritten.readableBytes)) {
            outcome.disagreements.append("frames written back differ from the bytes they were read from")
        }
        let server = serverWay(chunks, limit: limit)
        if server.frames != reference.frames || server.error != reference.error || server.leftover != reference.leftover
        {
            outcome.disagreements.append(
                "server way: \(server.frames.count) frames, \(String(describing: server.error)), \(server.leftover) left; "
                    + "reference: \(reference.frames.count), \(String(describing: reference.error)), \(reference.leftover)"
            )
        }
        guard clientWay else { return outcome }
        let client = Self.clientWay(chunks, limit: limit)
        // The client's decoder reports leftover bytes as `truncated` when the channel closes.
        let expectedClientError =
            reference.error ?? (reference.leftover > 0 ? .truncated(bytes: reference.leftover) : nil)
        if client.frames != reference.frames || client.error != expectedClientError {
            outcome.disagreements.append(
                "client way: \(client.frames.count) frames, \(String(describing: client.error)); "
                    + "reference: \(reference.frames.count), \(String(describing: expectedClientError))"
            )
        }
        return outcome
    }

    struct Cut {
        var frames: [Seen] = []
        var error: FrameError?
        var leftover = 0
    }

    static func oneShot(_ stream: [UInt8], limit: Int) -> Cut {
        var cut = Cut()
        var buffer = ByteBuffer(bytes: stream)
        do {
            while let frame = try FrameDecoder.next(from: &buffer, maxFrameSize: limit) {
                cut.frames.append(Seen(frame))
            }
            cut.leftover = buffer.readableBytes
        } catch {
            cut.error = error as? FrameError
        }
        return cut
    }

    /// `ConnectionHandler.channelRead`'s cutting: a partial frame waits in `pending`.
    static func serverWay(_ chunks: [[UInt8]], limit: Int) -> Cut {
        var cut = Cut()
        var pending = ByteBuffer()
        for chunk in chunks {
            var bytes = ByteBuffer(bytes: chunk)
            if pending.readableBytes > 0 {
                pending.writeBuffer(&bytes)
                swap(&bytes, &pending)
            }
            do {
                while let frame = try FrameDecoder.next(from: &bytes, maxFrameSize: limit) {
                    cut.frames.append(Seen(frame))
                }
            } catch {
                cut.error = error as? FrameError
                return cut
            }
            if bytes.readableBytes > 0 {
                bytes.discardReadBytes()
                pending = bytes
            } else {
                pending.clear()
            }
        }
        cut.leftover = pending.readableBytes
        return cut
    }

    /// The Swift client's cutting: `ByteToMessageHandler(FrameDecoder)`, then the channel closes.
    static func clientWay(_ chunks: [[UInt8]], limit: Int) -> Cut {
        var cut = Cut()
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(maxFrameSize: limit)))
        func collect() {
            while let frame = try? channel.readInbound(as: Frame.self) { cut.frames.append(Seen(frame)) }
        }
        func record(_ error: any Error) {
            if cut.error == nil { cut.error = error as? FrameError ?? .truncated(bytes: -1) }
        }
        for chunk in chunks where cut.error == nil {
            do { try channel.writeInbound(ByteBuffer(bytes: chunk)) } catch { record(error) }
            collect()
        }
        do { _ = try channel.finish(acceptAlreadyClosed: true) } catch { record(error) }
        collect()
        return cut
    }
}
