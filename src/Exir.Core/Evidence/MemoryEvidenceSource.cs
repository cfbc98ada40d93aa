using Exir.Core.Coverage;

namespace Exir.Core.Evidence;

/// <summary>Evidence made in memory: the files of a rule's test, or a test's hostile inputs (streams that fail, sizes that lie).</summary>
public sealed class MemoryEvidenceSource(string root, IReadOnlyList<EvidenceFile> files) : IEvidenceSource
{
    public string Root => root;
    public string Kind => "folder";

    public IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default)
    {
        foreach (var f in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            coverage.FileSeen();
            yield return f;
        }
    }

    /// <summary>A file whose bytes are in memory.</summary>
    public static EvidenceFile File(string relativePath, byte[] content, DateTimeOffset? modified = null) =>
        new(relativePath, content.Length, modified, () => new MemoryStream(content, writable: false));

    public void Dispose() { }
}
