// A task file read into examples: text (and pair) and label of each good row; bad rows (missing
// column, empty text, a score that is not a number) counted and named by file:line; rows whose
// label the task lacks set apart, for the caller to refuse (naming the labels) or count as wrong.
import Foundation

/// One example as read from a file.
public struct RawExample: Equatable, Sendable {
    public var text: String
    public var pair: String?
    /// The label as written in the file (nil when the file has none: prediction input).
    public var label: String?
    /// The row's id for predictions: its `index`/`id` column when the file has one, else its row number.
    public var id: String
    public var line: Int

    public init(text: String, pair: String? = nil, label: String? = nil, id: String, line: Int) {
        self.text = text; self.pair = pair; self.label = label; self.id = id; self.line = line
    }
}

/// A skipped row and why.
public struct BadRow: Equatable, Sendable, CustomStringConvertible {
    public var file: String, line: Int, problem: String
    public var description: String { "\(file):\(line): \(problem)" }
}

/// The rows of one file.
public struct TaskFile {
    public var path: String
    public var examples: [RawExample]
    public var badRows: [BadRow]
    /// Rows whose label is not one of the task's labels (`TaskSpec.labels`), in file order: in
    /// neither `examples` nor `badRows`. Skipping them would inflate a dev set's metrics:
    /// `unknownLabelsError` refuses them, or they are evaluated as wrong predictions.
    public var unknownLabels: [RawExample] = []
}

/// Reads `path` as `spec` describes. With `requireLabel` false (prediction input) a missing label
/// column is allowed, and labels are not checked (they are not used). Errors for the whole file:
/// unreadable, a header without the named columns, no good row at all.
public func readTaskFile(_ path: String, spec: TaskSpec, requireLabel: Bool = true) throws -> TaskFile {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
        throw TaskDataError.unreadable(path)
    }
    let format = spec.name.hasPrefix("custom") ? (TableFormat.of(path: path) ?? spec.format) : spec.format
    var records = try readRecords(text, format: format, file: path)
    guard !records.isEmpty else { throw TaskDataError.badFile(file: path, problem: "no rows") }
    var text1 = spec.text, text2 = spec.textPair, label: ColumnRef? = spec.label
    var header: [String: Int] = [:]
    var hasHeader = spec.hasHeader && format != .jsonl
    // GLUE's CoLA train/dev files have no header, its test file has "index<TAB>sentence".
    if !hasHeader, format == .tsv, records[0].fields.contains("sentence"), records[0].fields.contains("index") {
        hasHeader = true
        text1 = .name("sentence")
    }
    if hasHeader {
        for (i, name) in records[0].fields.enumerated() where header[name] == nil { header[name] = i }
        records.removeFirst()
        var needed: [(String, ColumnRef)] = [("text", text1)]
        if let text2 { needed.append(("pair", text2)) }
        for (what, ref) in needed {
            if case .name(let n) = ref, header[n] == nil {
                throw TaskDataError.badFile(file: path, problem: "the header has no \(what) column \"\(n)\" (it has: \(header.keys.sorted().joined(separator: ", ")))\n---> HINT: name the columns with --text-column/--text-pair-column, or check that --task matches the file")
            }
        }
        if case .name(let n)? = label, header[n] == nil {
            if requireLabel {
                throw TaskDataError.badFile(file: path, problem: "the header has no label column \"\(n)\" (it has: \(header.keys.sorted().joined(separator: ", ")))\n---> HINT: name it with --label-column")
            }
            label = nil
        }
    }
    if !requireLabel, !hasHeader, format == .tsv, case .index(let i)? = label,
       let width = records.first?.fields.count, i >= width { label = nil }
    let idColumn = header["index"] ?? header["id"]
    var examples: [RawExample] = [], bad: [BadRow] = [], unknown: [RawExample] = []
    for (row, r) in records.enumerated() {
        func value(_ ref: ColumnRef) -> String? {
            if let object = r.object {
                guard case .name(let n) = ref, let v = object[n], !(v is NSNull) else { return nil }
                if let s = v as? String { return s }
                if let n = v as? NSNumber { return n.stringValue }
                return "\(v)"
            }
            switch ref {
            case .index(let i): return i < r.fields.count ? r.fields[i] : nil
            case .name(let n): return header[n].flatMap { $0 < r.fields.count ? r.fields[$0] : nil }
            }
        }
        guard let a = value(text1) else { bad.append(BadRow(file: path, line: r.line, problem: "no \(text1)")); continue }
        guard !a.trimmingCharacters(in: .whitespaces).isEmpty else { bad.append(BadRow(file: path, line: r.line, problem: "empty text")); continue }
        var b: String?
        if let text2 {
            guard let v = value(text2) else { bad.append(BadRow(file: path, line: r.line, problem: "no \(text2)")); continue }
            guard !v.trimmingCharacters(in: .whitespaces).isEmpty else { bad.append(BadRow(file: path, line: r.line, problem: "empty text pair")); continue }
            b = v
        }
        var y: String?
        if let label {
            guard let v = value(label)?.trimmingCharacters(in: .whitespaces), !v.isEmpty else {
                if requireLabel { bad.append(BadRow(file: path, line: r.line, problem: "no label (\(label))")); continue }
                examples.append(RawExample(text: a, pair: b, label: nil, id: id(r, idColumn, row), line: r.line))
                continue
            }
            if spec.regression, Double(v) == nil {
                bad.append(BadRow(file: path, line: r.line, problem: "label \"\(v)\" is not a number (a regression task)")); continue
            }
            if requireLabel, !spec.regression, !spec.labels.isEmpty, !spec.labels.contains(v) {
                unknown.append(RawExample(text: a, pair: b, label: v, id: id(r, idColumn, row), line: r.line)); continue
            }
            y = v
        }
        examples.append(RawExample(text: a, pair: b, label: y, id: id(r, idColumn, row), line: r.line))
    }
    guard !examples.isEmpty || !unknown.isEmpty else {
        let first = bad.first.map { " (first: \($0))" } ?? ""
        throw TaskDataError.badFile(file: path, problem: "none of its \(records.count) rows is usable\(first)\n---> HINT: check --task and the column options against the file's layout")
    }
    return TaskFile(path: path, examples: examples, badRows: bad, unknownLabels: unknown)
}

extension TaskFile {
    /// The refusal of the rows whose label is not one of `known` (nil when there are none): how
    /// many rows, each such label with its rows and first line, and the known label it equals
    /// but for case.
    /// - Parameters:
    ///   - known: the task's labels.
    ///   - source: where they come from ("the training file", "--labels", "task sst-2").
    ///   - hint: what to do, after "---> HINT: ".
    public func unknownLabelsError(known: [String], source: String, hint: String) -> TaskDataError? {
        guard !unknownLabels.isEmpty else { return nil }
        var order: [String] = [], rows: [String: (count: Int, line: Int)] = [:]
        for e in unknownLabels {
            let label = e.label ?? ""
            if let seen = rows[label] { rows[label] = (seen.count + 1, seen.line) } else { order.append(label); rows[label] = (1, e.line) }
        }
        let named = order.map { label -> String in
            let (count, line) = rows[label]!
            var text = "\"\(label)\" (\(count) row\(count == 1 ? "" : "s"), first on line \(line)"
            if let same = known.first(where: { $0.lowercased() == label.lowercased() }) {
                text += "; \(source) has \"\(same)\": labels are compared case included"
            }
            return text + ")"
        }
        let total = examples.count + unknownLabels.count
        return .badFile(file: path, problem: "\(unknownLabels.count) of its \(total) rows have a label that \(source) lacks: \(named.joined(separator: ", ")); known labels: \(known.joined(separator: ", "))\n---> HINT: \(hint)")
    }

    /// The examples with the rows of unknown labels put back in file order (their features get
    /// `unknownLabel`: evaluated as wrong predictions).
    public var examplesWithUnknownLabels: [RawExample] {
        (examples + unknownLabels).sorted { $0.line < $1.line }
    }
}

private func id(_ r: Record, _ column: Int?, _ row: Int) -> String {
    if let object = r.object, let v = object["idx"] ?? object["id"] ?? object["index"] { return "\(v)" }
    if let column, column < r.fields.count { return r.fields[column] }
    return "\(row)"
}

/// The training examples followed by each pair example again with its two texts swapped
/// (configure_finetuning.py's double_unordered, as classification_tasks.py appends them for MRPC
/// and STS-B). Single-text examples are not repeated.
public func doublingUnorderedPairs(_ examples: [RawExample]) -> [RawExample] {
    examples + examples.compactMap { e in
        e.pair.map { RawExample(text: $0, pair: e.text, label: e.label, id: e.id, line: e.line) }
    }
}

extension FineTuningOptions {
    /// The examples a run trains on, from a training file's: doubled when `doubleUnordered` is on.
    public func trainingExamples(_ examples: [RawExample]) -> [RawExample] {
        doubleUnordered == true ? doublingUnorderedPairs(examples) : examples
    }
}

/// The class names of a training file, sorted so that the same labels always get the same indices (numbers numerically: "0" < "1" < "10").
public func labelsOf(_ examples: [RawExample]) -> [String] {
    let names = Set(examples.compactMap(\.label))
    if names.allSatisfy({ Int($0) != nil }) { return names.sorted { Int($0)! < Int($1)! } }
    return names.sorted()
}
