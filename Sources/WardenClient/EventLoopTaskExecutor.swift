import NIOCore

/// An event loop as a task executor (SwiftNIO 2.101 makes its loops serial executors, for
/// actors, but not task executors): jobs run on the loop's thread, in order.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
