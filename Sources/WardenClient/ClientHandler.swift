import NIOCore
import WardenProto
import WardenWire

/// The connection's reading side, on its event loop: hands each response frame to its request
/// (the caller's task resumes straight from here) and fails every open request when the
/// connection ends. Requests are written by `FrameWriter`, from the callers' threads.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    let requests: Requests

    init(requests: Requests) {
        self.requests = requests
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.requestID == 0 && frame.status != 0 {
            // The server's word on the connection itself (framing error): it closes next.
            let status = (try? Warden_V1_Status(serializedBytes: frame.body)) ?? Warden_V1_Status()
            requests.failAll(WardenError(status, code: frame.status))
            return
        }
        requests.answer(frame)
    }

    func channelInactive(context: ChannelHandlerContext) {
        requests.failAll(WardenError(code: .unavailable, message: "the connection to Warden closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        requests.failAll(WardenError(code: .unavailable, message: "the connection to Warden failed: \(error)"))
        context.close(promise: nil)
    }
}
