/// How the server listens and the limits it enforces per connection (docs/protocol.md,
/// docs/operations.md "Limits").
public struct ServerConfiguration: Sendable {
    /// The Unix socket's path. A stale socket file there is removed at start.
    public var socketPath: String
    /// The socket file's mode, 0660 by default: the owner and its group may connect (and the
    /// access policy then decides who is admitted).
    public var socketMode: UInt32 = 0o660
    /// The group the socket file is given (chown) after it is bound; `nil`: the server's own
    /// group. With mode 0660, members of this group may connect.
    public var socketGroup: UInt32?
    /// The largest frame accepted (its length field), 4 MiB by default.
    public var maxFrameSize = 4 << 20
    /// Requests of one connection waiting for a thread or a revision (writes, reads waiting for
    /// min_revision, bulk and prune streams), at most; more answer RESOURCE_EXHAUSTED.
    public var maxInFlight = 1024
    /// Bytes of one bulk or prune stream held until its end, at most (1 GiB).
    public var maxStreamBytes = 1 << 30
    /// Bytes of client streams held at once, all connections together, at most (1 GiB): a chunk
    /// that would pass it refuses its stream with RESOURCE_EXHAUSTED. A stream's bytes are held
    /// from its chunks' arrival until its commit ends (or it is cancelled, refused or dropped).
    public var maxStreamBytesTotal = 1 << 30
    /// Grants in one BulkGrant or BulkRevoke chunk, live pks in one PruneOrphans chunk, at most
    /// (100,000; the clients send 10,000 or 50,000): counted in the chunk's bytes before it is
    /// decoded, so a chunk's decoded size stays within a small multiple of its frame's.
    public var maxChunkItems = 100_000
    /// Bytes of watch events written to a connection and not yet taken by the client, at most;
    /// past it the server answers RESOURCE_EXHAUSTED on request id 0 (best effort: the client is
    /// not reading) and closes the connection (8 MiB).
    public var maxWatchBacklogBytes = 8 << 20
    /// Threads for requests that block (writes, bulk streams); reads waiting for min_revision hold
    /// none.
    /// Concurrent writes share one fsync (group commit), so more threads than cores pays.
    public var blockingThreads = 16
    /// Requests of one connection on those threads at once, at most; its others wait in the
    /// connection, in order, and start as these end (still counted by `maxInFlight`). The
    /// threads' queue then holds a few requests of each busy connection, so writers are served
    /// fairly, and concurrent writes of several connections still share one fsync. 8, half the
    /// threads: no connection holds them all (with pipelined writes, say), and one
    /// pipelining connection keeps most of its group-commit throughput (20,000 pipelined grants:
    /// 10.5 s at 8, 16.8 s at 4, 7.4 s at 16).
    public var poolShare = 8
    /// Threads that read watch history from the store, one page per watcher at a time (watchers
    /// take turns; a watcher's next page waits until its client has taken the previous one).
    public var replayThreads = 2
    /// Event loop threads; 0: one per core.
    public var eventLoopThreads = 0
    /// Admitted connections open at once, at most; one more is answered RESOURCE_EXHAUSTED on
    /// request id 0 and closed (4096). A peer that is not admitted is closed at once and never
    /// counts. Each costs a file descriptor: keep it below the process's open-file limit.
    public var maxConnections = 4096
    /// A frame whose first bytes have arrived must be complete within this time, or the
    /// connection is answered DEADLINE_EXCEEDED on request id 0 and closed: a client that
    /// trickles bytes cannot hold a connection half-read (10 s).
    public var frameTimeout: Duration = .seconds(10)
    /// A connection that sends no frame for this long while nothing of it runs (no request on
    /// the pool, no watch, no open stream) is answered UNAVAILABLE on request id 0 and closed;
    /// `nil` (the default): never. Clients that pool connections reconnect.
    public var idleTimeout: Duration?

    /// The process's metrics in the Prometheus text format, for the Stats RPC (the executable
    /// owns the metrics registry); `nil`: Stats carries none.
    public var metricsText: (@Sendable () -> String)?

    public init(socketPath: String) {
        self.socketPath = socketPath
    }
}
