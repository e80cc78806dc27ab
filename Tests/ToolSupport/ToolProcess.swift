import Foundation
import XCTest

/// Runs a built tool (`train`, `convert`, `infer`) from the test bundle's directory (or the program at an absolute path) (in working directory `cwd`,
/// when given) and returns its exit status, stdout and stderr.
public func runTool(_ tool: String, _ args: [String], environment: [String: String]? = nil, cwd: String? = nil,
             file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, stdout: String, stderr: String) {
    let path = tool.hasPrefix("/") ? tool : Bundle.main.bundleURL.appendingPathComponent(tool).path
    XCTAssertTrue(FileManager.default.isExecutableFile(atPath: path), "no \(tool) at \(path)", file: file, line: line)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let environment { p.environment = environment }
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The JSON object on the last line of a tool's stdout (the `--json` convention).
public func lastJSONLine(_ s: String) throws -> [String: Any] {
    let line = try XCTUnwrap(s.split(separator: "\n").last)
    return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

/// A fresh temporary directory for one test.
public func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "bitshield-test-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
