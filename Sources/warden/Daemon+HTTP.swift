import Foundation
import Logging
import WardenServer

extension Daemon {
    /// Starts the HTTP listener when `http_address` is set (`nil` otherwise) and announces the
    /// address it bound on stdout, as `warden: http listening on ADDRESS`, the way the socket's
    /// `warden: serving` line is: after a request for port 0, that line tells the port.
    func startHTTP(
        readiness: Readiness,
        metrics: @escaping @Sendable () -> [UInt8],
        logger: Logger
    ) async throws -> HTTPEndpoint? {
        guard let address = configuration.httpAddress else { return nil }
        let endpoint: HTTPEndpoint
        do {
            endpoint = try await HTTPEndpoint(
                configuration: HTTPEndpoint.Configuration(address: address),
                readiness: readiness,
                metrics: metrics,
                logger: logger
            )
        } catch {
            logger.critical("cannot listen for HTTP", metadata: ["http_address": "\(address)", "error": "\(error)"])
            throw error
        }
        print("warden: http listening on \(endpoint.boundAddress)")
        fflush(nil)
        return endpoint
    }
}
