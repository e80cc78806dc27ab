import Datasets
import Foundation
import XCTest
@testable import Trainer

/// The project's JSON files read through Foundation (options.json, start.json, a grid job's result): a value
/// of the wrong JSON type is refused, not converted (Foundation's bridging reads `true` as 1 and 1 as
/// `true`), and every stored number option obeys the command line's range.
final class HostileJSONTests: XCTestCase {
    private func object(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// `"format": true` in a stored edge start was read as format 1.
    func testBooleanWhereANumberBelongsIsRefused() throws {
        let dir = NSTemporaryDirectory() + "hostile-json-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = EdgeStart.startFile(dir)
        try Data(#"{"format": true, "gradient_zeros": 0, "gradient_entries": 0}"#.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try EdgeStart.startObject(path)) { XCTAssertTrue("\($0)".contains("expected 1"), "\($0)") }
        try Data(#"{"format": 1}"#.utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertNoThrow(try EdgeStart.startObject(path))

        let result = try object(#"{"id": "j", "images": true, "clean_correct": true}"#)
        XCTAssertEqual(GridStore.resultProblem(result, id: "j")?.field, "images")
        XCTAssertThrowsError(try GridOptions(object: object(#"{"preset": "fcn2", "paper_datasets": 1}"#), path: "o.json")) {
            XCTAssertTrue("\($0)".contains("'paper_datasets'"), "\($0)")
        }
        XCTAssertThrowsError(try GridOptions(object: object(#"{"preset": "fcn2", "paper_datasets": false, "limit": true}"#), path: "o.json")) {
            XCTAssertTrue("\($0)".contains("'limit'"), "\($0)")
        }
        XCTAssertEqual(JSONValue.integer(try object(#"{"a": false}"#)["a"]), nil)
        XCTAssertEqual(JSONValue.double(try object(#"{"a": true}"#)["a"]), nil)
        XCTAssertEqual(JSONValue.integer(try object(#"{"a": 7}"#)["a"]), 7)
    }

    /// options.json with `limit` or `max_epochs` of 2^63-1 was accepted (the command line caps --max-epochs).
    func testStoredGridOptionsObeyTheCommandLineRanges() throws {
        for (key, value, range) in [("max_epochs", Int.max, "1...\(TrainingConfig.maxEpochs)"),
                                    ("limit", Int.max, "1...\(IDXFile.maxPayloadBytes)"),
                                    ("train_limit", 0, "1...\(IDXFile.maxPayloadBytes)")] {
            let o = try object(#"{"preset": "fcn2", "paper_datasets": false, "\#(key)": \#(value)}"#)
            XCTAssertThrowsError(try GridOptions(object: o, path: "o.json")) {
                XCTAssertEqual("\($0)", "o.json: field '\(key)': \(key) \(value) is outside \(range)")
            }
        }
        let fine = try GridOptions(object: object(#"{"preset": "fcn2", "paper_datasets": false, "limit": 10, "max_epochs": 2}"#), path: "o.json")
        XCTAssertEqual(fine.limit, 10)
        XCTAssertEqual(fine.maxEpochs, 2)
    }

    /// A checkpoint's `"classes": true` was reported as "'classes' is 1, not a Int" (the NSNumber behind a
    /// JSON boolean prints as 1): the value is shown as written.
    func testCheckpointMetadataShowsABooleanAsWritten() throws {
        let json = #"{"activation":"hardtanh","architecture":"fcn","classes":true,"conv_channels":[],"dropout":0,"float_last_layer":false,"hidden":[8],"input":{"channels":1,"height":8,"width":8},"input_bits":2,"kernel":3,"precision":"binary"}"#
        XCTAssertThrowsError(try Checkpoint.decodeMetadata(ModelConfig.self, key: "model", json: json, fail: { .invalidConfig($0) })) {
            XCTAssertTrue("\($0)".contains("'classes' is true, not of type Int"), "\($0)")
        }
    }
}
