import CMemory
import Foundation
import Testing

/// The allocator calls a replica makes after a cold load and a large bulk (`CMemory`): they must
/// reach glibc, not compile to nothing (they did once: `__GLIBC__` is only defined after a C
/// library header). Not under a sanitizer, whose allocator replaces glibc's: `make tsan` skips
/// this suite.
@Suite("Memory: the allocator's statistics and release", .serialized)
struct MemoryReleaseTests {
    static let blockSize = 1024
    static let blocks = 96 * 1024  // 96 MiB in 1 KiB blocks: below glibc's mmap threshold

    /// Resident anonymous memory of this process (/proc/self/status `RssAnon`), in bytes.
    static func residentAnonymous() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }

    /// Allocates and touches `blocks` blocks, all but the last one freed again on return: the
    /// last pins the heap's top, so the allocator keeps the freed pages unless told otherwise.
    static func fragment() -> UnsafeMutableRawPointer {
        var pointers: [UnsafeMutableRawPointer] = []
        pointers.reserveCapacity(blocks)
        for _ in 0..<blocks {
            let pointer = malloc(blockSize)!
            memset(pointer, 0x5A, blockSize)
            pointers.append(pointer)
        }
        for pointer in pointers.dropLast() { free(pointer) }
        return pointers.last!
    }

    /// Runs `attempt` until it holds, at most `limit` times. The allocator's statistics and the
    /// resident set are the whole process's, and other suites allocate and free on other
    /// threads while these run: one attempt can see another test free or allocate megabytes
    /// between its two readings. A working call holds in nearly every attempt; a call compiled
    /// to nothing holds in none.
    static func holds(within limit: Int = 8, _ attempt: () -> (Bool, String)) -> (Bool, [String]) {
        var seen: [String] = []
        for _ in 0..<limit {
            let (held, figures) = attempt()
            if held { return (true, seen) }
            seen.append(figures)
        }
        return (false, seen)
    }

    @Test("heap in use counts what is allocated and not what is freed")
    func heapInUse() {
        let megabytes64 = 64 * 1024 * 1024
        let (held, seen) = Self.holds {
            let pointers = (0..<(64 * 1024)).map { _ in malloc(Self.blockSize)! }
            let allocated = warden_heap_in_use()
            for pointer in pointers { free(pointer) }
            let freed = warden_heap_in_use()
            // While the 64 MiB are held they are in use whatever other threads do; once freed,
            // the count drops by nearly all of them unless another test allocated meanwhile.
            let figures = "64 MiB held: \(allocated) in use; freed: \(freed)"
            return (allocated >= megabytes64 && freed + 60 * 1024 * 1024 <= allocated, figures)
        }
        #expect(held, "every attempt: \(seen)")
    }

    @Test("release gives freed pages inside the heap back to the kernel")
    func release() {
        let (held, seen) = Self.holds {
            let pinned = Self.fragment()
            defer { free(pinned) }
            let kept = Self.residentAnonymous()
            warden_release_free_memory()
            let released = Self.residentAnonymous()
            // 96 MiB were freed below the pinned block; at least half must leave the resident set.
            return (released + 48 * 1024 * 1024 <= kept, "RssAnon \(kept) → \(released) bytes")
        }
        #expect(held, "every attempt: \(seen)")
    }
}
