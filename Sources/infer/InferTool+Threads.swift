import Dispatch
import Inference

// `infer`'s threads: the scoring pass and the throughput figure share one pool of workers, each with its
// own arena and batch interpreter (made, and the image validated, before anything runs). Images go to the
// workers in chunks of one batch, chunk k to worker k mod workers; every image is computed by itself (no
// kernel mixes images), so predictions and scores do not depend on the thread count (ToolTests checks
// --threads 1 against 2). Pointers cross threads as integers (they are not Sendable); each worker is used
// by one thread at a time and writes only its own chunks' classes and scores.

/// One thread's interpreter over its own arena, prepared for batches of `batch` images.
final class InferWorker: @unchecked Sendable {
    let arena: UnsafeMutableRawBufferPointer
    let classes: UnsafeMutablePointer<Int>
    let interpreter: Interpreter

    init(image: UnsafeRawBufferPointer, kernels: KernelSet, batch: Int, arenaBytes: Int) throws(InferenceError) {
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: arenaBytes, alignment: 16)
        do {
            interpreter = try Interpreter(image: image, arena: arena, kernels: kernels, batch: batch)
        } catch {
            arena.deallocate()
            throw error
        }
        self.arena = arena
        classes = UnsafeMutablePointer<Int>.allocate(capacity: batch)
    }

    deinit {
        arena.deallocate()
        classes.deallocate()
    }

    /// `workers` workers for batches of `batch` images (`arenaBytes` each).
    static func pool(_ workers: Int, image: UnsafeRawBufferPointer, kernels: KernelSet, batch: Int,
                     arenaBytes: Int) throws(InferenceError) -> [InferWorker] {
        var made: [InferWorker] = []
        for _ in 0..<workers { made.append(try InferWorker(image: image, kernels: kernels, batch: batch, arenaBytes: arenaBytes)) }
        return made
    }
}

/// Runs `count` images (`imageSize` bytes each, from `pixels`) over `pool` in chunks of `batch`, chunk k
/// on worker k mod workers. With `classes`, image i's class goes to `classes[i]` and, with `scores`, its
/// `classCount` scores to `scores + i * classCount`; without, the classes stay in the workers (timing).
func runChunks(_ pool: [InferWorker], batch: Int, pixels: UnsafePointer<UInt8>, count: Int, imageSize: Int,
               classes: UnsafeMutablePointer<Int>? = nil, scores: UnsafeMutablePointer<Float>? = nil, classCount: Int = 0) {
    let pixelAddress = UInt(bitPattern: pixels), classAddress = UInt(bitPattern: classes), scoreAddress = UInt(bitPattern: scores)
    let chunks = (count + batch - 1) / batch, workers = pool.count
    DispatchQueue.concurrentPerform(iterations: workers) { k in
        let worker = pool[k], px = UnsafePointer<UInt8>(bitPattern: pixelAddress)!
        let out = UnsafeMutablePointer<Int>(bitPattern: classAddress), sv = UnsafeMutablePointer<Float>(bitPattern: scoreAddress)
        var chunk = k
        while chunk < chunks {
            let first = chunk * batch
            worker.interpreter.invoke(batch: px + first * imageSize, count: min(batch, count - first),
                                      classes: out.map { $0 + first } ?? worker.classes, scores: sv.map { $0 + first * classCount })
            chunk += workers
        }
    }
}

/// Images per second in batches over `pool`: the median of at least three passes over the images,
/// repeated until 0.3 s have passed, so one preempted pass does not decide the figure. A timed pass only
/// invokes.
func throughput(_ pool: [InferWorker], batch: Int, pixels: UnsafePointer<UInt8>, count: Int, imageSize: Int) -> Double {
    var rates: [Double] = []
    let begin = DispatchTime.now().uptimeNanoseconds
    while rates.count < 3 || (DispatchTime.now().uptimeNanoseconds - begin < 300_000_000 && rates.count < 100) {
        let start = DispatchTime.now().uptimeNanoseconds
        runChunks(pool, batch: batch, pixels: pixels, count: count, imageSize: imageSize)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        rates.append(Double(count) / max(seconds, 1e-9))
    }
    return rates.sorted()[rates.count / 2]
}

/// Latency: µs per image of batch-1 invokes of `interpreter` on one thread, over the first `sample`
/// images (the median is the figure).
func latencies(_ interpreter: Interpreter, pixels: UnsafePointer<UInt8>, sample: Int, imageSize: Int) -> [Double] {
    var times = [Double](repeating: 0, count: sample)
    for i in 0..<sample {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = interpreter.invoke(pixels + i * imageSize)
        times[i] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1000
    }
    return times
}
