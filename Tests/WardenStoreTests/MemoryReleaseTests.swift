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

    @Test("heap in use counts what is allocated and not what is freed")
    func heapInUse() {
        let before = warden_heap_in_use()
        let pointers = (0..<(64 * 1024)).map { _ in malloc(Self.blockSize)! }
        let allocated = warden_heap_in_use()
        #expect(allocated >= before + 60 * 1024 * 1024, "64 MiB allocated: \(before) → \(allocated)")
        for pointer in pointers { free(pointer) }
        let freed = warden_heap_in_use()
        #expect(freed + 60 * 1024 * 1024 <= allocated, "64 MiB freed: \(allocated) → \(freed)")
    }

    @Test("release gives freed pages inside the heap back to the kernel")
    func release() {
        let pinned = Self.fragment()
        defer { free(pinned) }
        let kept = Self.residentAnonymous()
        warden_release_free_memory()
        let released = Self.residentAnonymous()
        // 96 MiB were freed below the pinned block; at least half must leave the resident set.
        #expect(released + 48 * 1024 * 1024 <= kept, "RssAnon \(kept) → \(released) bytes")
    }
}
