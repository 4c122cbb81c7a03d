import Foundation
import WardenSync

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a log handler writes its records: one call per record, with the finished line and no
/// trailing newline.
///
/// The standard sinks append the newline and write the whole line with a single `write(2)`
/// under a process-wide lock, so lines from different threads and handlers never interleave.
/// Tests and embedders pass their own closure:
///
/// ```swift
/// let handler = JSONLogHandler(label: "warden", sink: LogSink { line in lines.append(line) })
/// ```
public struct LogSink: Sendable {
    private let writeLine: @Sendable (String) -> Void

    /// A sink that hands each finished line (without a trailing newline) to `write`.
    ///
    /// The closure may be called from any thread, concurrently; it must do its own locking.
    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.writeLine = write
    }

    /// Writes one finished record.
    public func write(_ line: String) {
        self.writeLine(line)
    }

    /// Standard error, one line per record: the default of both handlers.
    public static let standardError = LogSink { line in FileDescriptorWriter.write(line, to: 2) }

    /// Standard output, one line per record.
    public static let standardOutput = LogSink { line in FileDescriptorWriter.write(line, to: 1) }
}

/// Writes whole lines to a file descriptor, one writer at a time.
enum FileDescriptorWriter {
    /// One lock for every descriptor: log volume is small next to the cost of a system call,
    /// and a single lock also keeps stdout and stderr lines in the order they were logged.
    private static let lock = Locked(())

    /// Writes `line` and a newline with as few `write(2)` calls as the kernel allows, retrying
    /// on `EINTR` and partial writes. A failed write (a closed descriptor) drops the record:
    /// logging must never take the process down.
    static func write(_ line: String, to descriptor: Int32) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return }
                var offset = 0
                while offset < buffer.count {
                    #if canImport(Darwin)
                    let written = Darwin.write(descriptor, base + offset, buffer.count - offset)
                    #elseif canImport(Musl)
                    let written = Musl.write(descriptor, base + offset, buffer.count - offset)
                    #else
                    let written = Glibc.write(descriptor, base + offset, buffer.count - offset)
                    #endif
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return
                    }
                }
            }
        }
    }
}
