// The downstream tasks: GLUE's nine by name, in the layouts of GLUE's own TSV files (as
// google-research/electra finetune/classification/classification_tasks.py reads them), and
// `custom` tasks over any TSV, CSV or JSONL file with named columns.

/// A column of a table: by header name, or by position (0-based) in a file without header.
public enum ColumnRef: Codable, Equatable, Sendable, CustomStringConvertible {
    case name(String)
    case index(Int)

    public var description: String {
        switch self {
        case .name(let n): return "column \"\(n)\""
        case .index(let i): return "column \(i + 1)"
        }
    }
}

/// The file layouts the readers know.
public enum TableFormat: String, Codable, Sendable {
    /// Tab-separated, no quoting (GLUE's files: quotes are text).
    case tsv
    /// Comma-separated with RFC 4180 quoting.
    case csv
    /// One JSON object per line.
    case jsonl
    /// CoNLL-style tagging: a token and its tag per line, a blank line between sentences (Conll.swift).
    case conll
    /// SQuAD JSON (Squad.swift).
    case squad

    /// The format of a file by its extension (.tsv/.txt: TSV, .csv: CSV, .jsonl/.json: JSONL).
    public static func of(path: String) -> TableFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") || lower.hasSuffix(".ndjson") { return .jsonl }
        if lower.hasSuffix(".tsv") || lower.hasSuffix(".txt") { return .tsv }
        return nil
    }
}

/// The metric a task reports (GLUE's).
public enum TaskMetric: String, Codable, Sendable {
    case accuracy
    /// F1 of the positive class and accuracy (MRPC, QQP).
    case f1Accuracy = "f1_accuracy"
    /// Matthews correlation (CoLA).
    case matthews
    /// Pearson and Spearman correlation (STS-B).
    case correlation
    /// Entity-level precision, recall and F1 (conlleval, seqeval): tagging.
    case entityF1 = "entity_f1"
    /// The official SQuAD evaluation's EM and F1 (v2.0: at the best null threshold).
    case squad
}

/// What a task reads and predicts.
public struct TaskSpec: Codable, Equatable, Sendable {
    public var name: String
    public var format: TableFormat
    /// Whether a TSV/CSV file starts with a header line.
    public var hasHeader: Bool
    public var text: ColumnRef
    public var textPair: ColumnRef?
    public var label: ColumnRef
    /// Class names in output order; empty for regression, or to take them from the training file.
    public var labels: [String]
    public var regression: Bool
    public var metric: TaskMetric
    /// Default epochs (configure_finetuning.py: 10 for RTE and STS-B, 3 otherwise).
    public var epochs: Int
    /// Tagging: where token and tag are on a line (nil for the table tasks).
    public var layout: ConllLayout?
    /// Question answering: the windows, the training file's SQuAD version, and the null-score
    /// threshold predictions use (v2.0: the best on dev, set by export).
    public var windowing: SquadWindowing?
    public var squadVersion: SquadVersion?
    public var nullThreshold: Double?

    public init(name: String, format: TableFormat, hasHeader: Bool, text: ColumnRef, textPair: ColumnRef?, label: ColumnRef,
                labels: [String], regression: Bool, metric: TaskMetric, epochs: Int = 3) {
        self.name = name; self.format = format; self.hasHeader = hasHeader; self.text = text; self.textPair = textPair
        self.label = label; self.labels = labels; self.regression = regression; self.metric = metric; self.epochs = epochs
    }

    /// The GLUE tasks whose two sentences can be swapped without changing the label
    /// (classification_tasks.py doubles these under double_unordered).
    public static let unorderedPairTasks: Set<String> = ["mrpc", "sts-b"]

    /// Token tagging over CoNLL-style files; `labels` are the tags (from the training file when empty).
    public static func tagging(layout: ConllLayout = ConllLayout(), labels: [String] = []) -> TaskSpec {
        var spec = TaskSpec(name: "tagging", format: .conll, hasHeader: false, text: .index(layout.tokenColumn), textPair: nil,
                            label: .index(layout.tagColumn ?? -1), labels: labels, regression: false, metric: .entityF1)
        spec.layout = layout
        return spec
    }

    /// Extractive question answering over SQuAD files (2 epochs, as configure_finetuning.py).
    public static func squad(windowing: SquadWindowing, version: SquadVersion) -> TaskSpec {
        var spec = TaskSpec(name: "squad", format: .squad, hasHeader: false, text: .name("question"), textPair: .name("context"),
                            label: .name("answers"), labels: [], regression: false, metric: .squad, epochs: 2)
        spec.windowing = windowing
        spec.squadVersion = version
        return spec
    }

    public static let glueNames = ["cola", "sst-2", "mrpc", "sts-b", "qqp", "mnli", "qnli", "rte", "wnli"]

    /// A GLUE task by name (sst2, stsb and mnli-mm are accepted too).
    public static func glue(_ raw: String) -> TaskSpec? {
        let binary = ["0", "1"], nli2 = ["entailment", "not_entailment"]
        switch raw.lowercased() {
        case "cola":
            // in_domain_train.tsv / in_domain_dev.tsv: source, label, original label, sentence; no header.
            return TaskSpec(name: "cola", format: .tsv, hasHeader: false, text: .index(3), textPair: nil, label: .index(1),
                            labels: binary, regression: false, metric: .matthews)
        case "sst-2", "sst2", "sst":
            return TaskSpec(name: "sst-2", format: .tsv, hasHeader: true, text: .name("sentence"), textPair: nil,
                            label: .name("label"), labels: binary, regression: false, metric: .accuracy)
        case "mrpc":
            return TaskSpec(name: "mrpc", format: .tsv, hasHeader: true, text: .name("#1 String"), textPair: .name("#2 String"),
                            label: .name("Quality"), labels: binary, regression: false, metric: .f1Accuracy)
        case "sts-b", "stsb", "sts":
            return TaskSpec(name: "sts-b", format: .tsv, hasHeader: true, text: .name("sentence1"), textPair: .name("sentence2"),
                            label: .name("score"), labels: [], regression: true, metric: .correlation, epochs: 10)
        case "qqp":
            return TaskSpec(name: "qqp", format: .tsv, hasHeader: true, text: .name("question1"), textPair: .name("question2"),
                            label: .name("is_duplicate"), labels: binary, regression: false, metric: .f1Accuracy)
        case "mnli", "mnli-m", "mnli-mm":
            return TaskSpec(name: "mnli", format: .tsv, hasHeader: true, text: .name("sentence1"), textPair: .name("sentence2"),
                            label: .name("gold_label"), labels: ["contradiction", "entailment", "neutral"], regression: false,
                            metric: .accuracy)
        case "qnli":
            return TaskSpec(name: "qnli", format: .tsv, hasHeader: true, text: .name("question"), textPair: .name("sentence"),
                            label: .name("label"), labels: nli2, regression: false, metric: .accuracy)
        case "rte":
            return TaskSpec(name: "rte", format: .tsv, hasHeader: true, text: .name("sentence1"), textPair: .name("sentence2"),
                            label: .name("label"), labels: nli2, regression: false, metric: .accuracy, epochs: 10)
        case "wnli":
            return TaskSpec(name: "wnli", format: .tsv, hasHeader: true, text: .name("sentence1"), textPair: .name("sentence2"),
                            label: .name("label"), labels: binary, regression: false, metric: .accuracy)
        default:
            return nil
        }
    }
}
