// Reading task files: TSV (GLUE: split on tabs, no quoting), CSV (RFC 4180 quoting, quoted fields
// may span lines) and JSONL. Each record keeps the line it starts on, so that a bad row can be
// named as file:line.
import Foundation

/// Problems with a whole file (a bad row is counted and skipped instead).
public enum TaskDataError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case badFile(file: String, problem: String)

    public var description: String {
        switch self {
        case .unreadable(let file): return "\(file): cannot be read (missing, no permission, or not UTF-8 text)"
        case .badFile(let file, let problem): return "\(file): \(problem)"
        }
    }
}

/// One record of a table: its fields by position, or by key (JSONL), and its line.
struct Record {
    var line: Int
    var fields: [String]
    var object: [String: Any]?
}

/// Splits `text` into records of `format`.
func readRecords(_ text: String, format: TableFormat, file: String) throws -> [Record] {
    switch format {
    case .tsv:
        return lines(text).map { Record(line: $0.line, fields: $0.text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init), object: nil) }
    case .jsonl:
        return try lines(text).map { line in
            guard let data = line.text.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TaskDataError.badFile(file: file, problem: "line \(line.line) is not a JSON object (a .jsonl file holds one object per line)")
            }
            return Record(line: line.line, fields: [], object: object)
        }
    case .csv:
        return try csvRecords(text, file: file)
    case .conll, .squad:
        throw TaskDataError.badFile(file: file, problem: "a CoNLL or SQuAD file is read by readConllFile or readSquadFile, not as a table")
    }
}

/// Non-blank lines with their 1-based numbers (a trailing \r is dropped). Split on the byte \n:
/// a String splits on Characters, and "\r\n" is one Character, so a CRLF file would be one line.
private func lines(_ text: String) -> [(line: Int, text: String)] {
    var out: [(Int, String)] = []
    for (i, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
        var s = String(decoding: raw, as: UTF8.self)
        if s.utf8.last == UInt8(ascii: "\r") { s = String(decoding: s.utf8.dropLast(), as: UTF8.self) }
        if !s.trimmingCharacters(in: .whitespaces).isEmpty { out.append((i + 1, s)) }
    }
    return out
}

/// RFC 4180: fields separated by commas, "quoted" fields may hold commas, newlines and "" for a quote.
private func csvRecords(_ text: String, file: String) throws -> [Record] {
    var records: [Record] = []
    var fields: [String] = [], field = "", quoted = false, atFieldStart = true
    var line = 1, recordLine = 1
    var chars = text.makeIterator()
    var pending: Character? = nil
    func endRecord() {
        fields.append(field)
        if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields, object: nil)) }
        fields = []; field = ""; atFieldStart = true
    }
    while let c = pending ?? chars.next() {
        pending = nil
        if quoted {
            if c == "\"" {
                if let next = chars.next() {
                    if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                } else { quoted = false }
            } else {
                if c == "\n" || c == "\r\n" { line += 1 }
                field.append(c)
            }
            continue
        }
        switch c {
        case "\"" where atFieldStart:
            quoted = true; atFieldStart = false
        case ",":
            fields.append(field); field = ""; atFieldStart = true
        case "\n", "\r\n":
            endRecord(); line += 1; recordLine = line
        case "\r":
            break
        default:
            field.append(c); atFieldStart = false
        }
    }
    if quoted { throw TaskDataError.badFile(file: file, problem: "a quoted field that starts on line \(recordLine) never ends (unbalanced \")") }
    if !field.isEmpty || !fields.isEmpty { endRecord() }
    return records
}
