using System.Text;
using System.Text.Json;
using Exir.Core.Findings;

namespace Exir.Pipeline;

/// <summary>
/// Findings past the per-rule cap of a run, written to a temporary JSONL file as they come (the finding contract),
/// so memory holds a bounded number of findings however many the evidence yields. Read back, streaming, for the
/// finding outputs; counted by rule and severity for the report. Thread-safe; the file is deleted on dispose.
/// </summary>
public sealed class FindingSpool : IDisposable
{
    private readonly object _gate = new();
    private readonly string _path;
    private readonly FileStream _stream;
    private readonly Utf8JsonWriter _writer;
    private readonly Dictionary<string, long> _byRule = new(StringComparer.Ordinal);
    private readonly Dictionary<Severity, long> _bySeverity = [];
    private long _count;
    private bool _disposed;

    public FindingSpool(string? directory = null)
    {
        _path = Path.Combine(directory ?? Path.GetTempPath(), $"exir-findings-{Guid.NewGuid():N}.jsonl");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 1 << 16,
        };
        // Findings quote the evidence: readable by this user only.
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        _stream = new FileStream(_path, options);
        _writer = new Utf8JsonWriter(_stream, FindingJson.WriterOptions);
    }

    public long Count { get { lock (_gate) return _count; } }
    public IReadOnlyDictionary<string, long> ByRule { get { lock (_gate) return new Dictionary<string, long>(_byRule, StringComparer.Ordinal); } }
    public IReadOnlyDictionary<Severity, long> BySeverity { get { lock (_gate) return new Dictionary<Severity, long>(_bySeverity); } }

    public void Add(Finding finding)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            FindingJson.Write(_writer, finding);
            _writer.Flush();
            _writer.Reset();
            _stream.WriteByte((byte)'\n');
            _count++;
            _byRule[finding.RuleId] = _byRule.GetValueOrDefault(finding.RuleId) + 1;
            _bySeverity[finding.Severity] = _bySeverity.GetValueOrDefault(finding.Severity) + 1;
        }
    }

    /// <summary>The spooled findings in the order they were reported, streamed from disk.</summary>
    public IEnumerable<Finding> Read()
    {
        lock (_gate)
        {
            if (_disposed) yield break;
            _stream.Flush();
        }
        // The spool is exir's own output: a line that does not read back is a bug, not evidence; it is skipped.
        foreach (var (finding, _) in FindingJson.ReadLines(_path, (_, _) => { })) yield return finding;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _writer.Dispose();
            _stream.Dispose();
            try { File.Delete(_path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
