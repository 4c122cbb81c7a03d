import CPostgres
import Foundation

/// One libpq connection: connecting and reconnecting, statements (prepared once per connection,
/// by SQL text), transactions, `COPY`. Not thread-safe; the backend serializes its use.
///
/// A connection that broke (the server restarted, an administrator terminated it, the network
/// dropped) is noticed by the statement that fails, which throws; the next `begin` opens a new
/// one, so the backend recovers by itself once the server is back.
final class PostgresConnection {
    let uri: PostgresURI
    /// Statements run after each connect (temporary tables the session needs).
    private let setup: [String]
    private(set) var handle: OpaquePointer?
    /// Prepared statement names by SQL text; emptied on reconnect (a new session has none).
    private var prepared: [String: String] = [:]

    /// Connects; throws when the server cannot be reached or refuses.
    init(uri: PostgresURI, setup: [String] = []) throws(PostgresError) {
        self.uri = uri
        self.setup = setup
        try connect()
    }

    deinit { PQfinish(handle) }

    /// Whether the connection is open and usable as far as libpq knows.
    var isOpen: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Closes the connection (if any) and opens a new one.
    func connect() throws(PostgresError) {
        PQfinish(handle)
        handle = nil
        prepared = [:]
        let parameters = uri.parameters
        let keywords = parameters.map { strdup($0.keyword) }
        let values = parameters.map { strdup($0.value) }
        defer {
            for pointer in keywords + values { free(pointer) }
        }
        let connection = (keywords.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { keywordList in
            (values.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { valueList in
                PQconnectdbParams(keywordList.baseAddress, valueList.baseAddress, 1)
            }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "out of memory"
            PQfinish(connection)
            throw PostgresError(
                sqlState: nil,
                message: "\(uri.redacted): \(message.trimmingCharacters(in: .whitespacesAndNewlines))",
                sql: nil,
                connectionLost: true
            )
        }
        warden_pq_silence_notices(connection)
        handle = connection
        for sql in setup { try execute(sql) }
    }

    /// Opens a new connection unless this one is open and idle (outside a transaction); a
    /// connection left in a transaction by a failure is rolled back.
    func ready() throws(PostgresError) {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return try connect() }
        if PQtransactionStatus(handle) != PQTRANS_IDLE { _ = try? execute("ROLLBACK") }
        if !isOpen { try connect() }
    }

    /// Starts a transaction with `sql` (`BEGIN ...`). A connection found broken by `BEGIN`
    /// itself (terminated since its last use) is replaced and `BEGIN` tried once more: nothing
    /// of the transaction was sent yet.
    @discardableResult
    func begin(_ sql: String) throws(PostgresError) -> PostgresResult {
        try ready()
        do throws(PostgresError) {
            return try execute(sql)
        } catch  where error.connectionLost {
            try connect()
            return try execute(sql)
        }
    }

    /// Runs SQL text without parameters (one or more statements), through the simple protocol.
    @discardableResult
    func execute(_ sql: String) throws(PostgresError) -> PostgresResult {
        guard let handle else { throw notConnected(sql) }
        return try check(PQexec(handle, sql), sql)
    }

    /// Runs `sql` with text parameters (`$1`, `$2`, ...; `nil` is NULL), prepared on this
    /// connection the first time it runs.
    @discardableResult
    func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        guard let handle else { throw notConnected(sql) }
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "w\(prepared.count)"
            try check(PQprepare(handle, name, sql, 0, nil), sql)
            prepared[sql] = name
        }
        let values: [UnsafeMutablePointer<CChar>?] = parameters.map { parameter in parameter.flatMap { strdup($0) } }
        defer {
            for value in values { free(value) }
        }
        let pointers: [UnsafePointer<CChar>?] = values.map { value in value.map { UnsafePointer($0) } }
        let result = pointers.withUnsafeBufferPointer { list in
            PQexecPrepared(handle, name, Int32(list.count), list.baseAddress, nil, nil, 0)
        }
        return try check(result, sql)
    }

    /// `COPY ... FROM STDIN` with `data` (already in the statement's format), sent in chunks.
    func copy(_ sql: String, _ data: [UInt8]) throws(PostgresError) {
        guard let handle else { throw notConnected(sql) }
        guard let start = PQexec(handle, sql) else { throw failure(sql, nil) }
        defer { PQclear(start) }
        guard PQresultStatus(start) == PGRES_COPY_IN else { throw failure(sql, start) }
        let chunk = 1 << 20
        var sent = true
        data.withUnsafeBytes { bytes in
            var offset = 0
            while sent && offset < bytes.count {
                let count = min(chunk, bytes.count - offset)
                sent =
                    PQputCopyData(
                        handle,
                        bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                        Int32(count)
                    ) == 1
                offset += count
            }
        }
        guard sent, PQputCopyEnd(handle, nil) == 1 else { throw failure(sql, nil) }
        // The outcome, then libpq's end-of-command marker.
        var outcome: PostgresError?
        while let result = PQgetResult(handle) {
            if outcome == nil, PQresultStatus(result) != PGRES_COMMAND_OK { outcome = failure(sql, result) }
            PQclear(result)
        }
        if let outcome { throw outcome }
    }

    /// The result, or the failure it reports.
    @discardableResult
    private func check(_ result: OpaquePointer?, _ sql: String) throws(PostgresError) -> PostgresResult {
        guard let result else { throw failure(sql, nil) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let error = failure(sql, result)
            PQclear(result)
            throw error
        }
        return PostgresResult(handle: result, sql: sql)
    }

    private func failure(_ sql: String, _ result: OpaquePointer?) -> PostgresError {
        let sqlState = result.flatMap { warden_pq_sqlstate($0) }.map { String(cString: $0) }
        let resultMessage = result.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) } ?? ""
        let message =
            resultMessage.isEmpty
            ? handle.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "" : resultMessage
        return PostgresError(
            sqlState: sqlState,
            message: message.trimmingCharacters(in: .whitespacesAndNewlines),
            sql: sql,
            connectionLost: !isOpen
        )
    }

    private func notConnected(_ sql: String) -> PostgresError {
        PostgresError(sqlState: nil, message: "not connected to \(uri.redacted)", sql: sql, connectionLost: true)
    }
}
