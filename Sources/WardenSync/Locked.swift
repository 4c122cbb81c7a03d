#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a lock: Warden's one idiom for state shared between threads, with
/// `Atomic` (Synchronization) for counters.
///
/// Why not `Synchronization.Mutex`: ThreadSanitizer does not see it on Linux (Swift 6.3.1). Its
/// lock and unlock live uninstrumented in the runtime and wait with raw futex calls, so TSan
/// reports a race on every value a `Mutex` guards, correct code included (two threads
/// incrementing one `Mutex<Int>`: "Swift access race", measured; docs/reliability.md). A
/// `pthread_mutex_t` is intercepted by TSan, so `make tsan` checks what this guards. (Its
/// cost against `Mutex` was not measured.)
///
/// The lock is not recursive: `withLock` inside `withLock` of the same value deadlocks.
public final class Locked<Value>: @unchecked Sendable {
    // `mutex` guards `value`'s pointee, touched only inside `withLock`. The value lives behind a
    // pointer, not in a stored property: an inout access to a class's property is a dynamic
    // exclusivity access that TSan tracks at the property's address, and for an empty `Value`
    // (`Locked<()>`, a plain lock) that address is the object's own, which every retain reads,
    // so TSan reported a race on correct code (measured with `make tsan`).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let result = pthread_mutex_init(mutex, nil)
        precondition(result == 0, "pthread_mutex_init failed: \(result)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with the value, holding the lock.
    @inline(__always)
    public func withLock<Result, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
