// The firmware's output, as `infer --device` reads it (the lines are listed in Firmware/Sources/Main.swift).

/// What one firmware run printed.
struct DeviceRun {
    var predictions: [Int] = []
    var ticksTotal = 0, ticksMin = Int.max, ticksMax = 0
    /// Counter ticks of Interpreter.init on the device (validation, arena plan, persistent data).
    var initTicks = 0
    var arenaBytes = 0, stackHighWater = 0, heapBytes = 0, dataBytes = 0, bssBytes = 0, firmwareFlashBytes = 0
    var done = false
    /// The first line with a figure that is not a whole number in 0...largestFigure, if any: such a run
    /// is refused (sums over runs stay far from overflow).
    var malformed: String?

    /// The largest figure a line may carry (2^48: a run of every payload image at millions of
    /// instructions each stays below it).
    static let largestFigure = 1 << 48

    /// Parses the firmware's output (see Firmware/Sources/Main.swift).
    init(output: String, classes: Int) {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let head = words.first else { continue }
            func field(_ key: String) -> Int {
                for w in words.dropFirst() where w.hasPrefix(key + "=") {
                    if let n = Int(w.dropFirst(key.count + 1)), (0...DeviceRun.largestFigure).contains(n) { return n }
                    if malformed == nil { malformed = String(line) }
                    return 0
                }
                return 0
            }
            switch head {
            case "p" where words.count == 3:
                if classes <= alphabet.count {
                    predictions += words[2].map { c in alphabet.firstIndex(of: c) ?? -1 }
                } else {
                    predictions += words[2].split(separator: ",").map { Int($0) ?? -1 }
                }
            case "model": arenaBytes = field("arena_bytes"); initTicks = field("init_instructions")
            case "instructions":
                ticksTotal = field("total"); ticksMin = field("min"); ticksMax = field("max")
            case "memory":
                stackHighWater = field("stack_high_water"); heapBytes = field("heap")
                dataBytes = field("data"); bssBytes = field("bss"); firmwareFlashBytes = field("flash_firmware")
            case "done": done = true
            default: break
            }
        }
    }
}
