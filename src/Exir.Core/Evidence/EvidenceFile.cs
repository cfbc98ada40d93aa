namespace Exir.Core.Evidence;

/// <summary>
/// One file inside an evidence source (a folder, a zip, a single file). Opening it always yields a
/// read-only stream; the evidence itself is never modified.
/// </summary>
public sealed class EvidenceFile
{
    private readonly Func<Stream> _open;

    public EvidenceFile(string relativePath, long length, DateTimeOffset? lastWriteUtc, Func<Stream> open, string? physicalPath = null)
    {
        RelativePath = relativePath;
        Length = length;
        LastWriteUtc = lastWriteUtc;
        _open = open;
        PhysicalPath = physicalPath;
    }

    /// <summary>'/'-separated path relative to the evidence root; zip members as "name.zip!/inner/path".</summary>
    public string RelativePath { get; }
    public long Length { get; }
    public DateTimeOffset? LastWriteUtc { get; }
    /// <summary>Path on disk when the file is a plain file (null inside archives).</summary>
    public string? PhysicalPath { get; }

    public string Name => RelativePath[(RelativePath.LastIndexOf('/') + 1)..];
    public string Extension
    {
        get
        {
            var name = Name;
            int dot = name.LastIndexOf('.');
            return dot < 0 ? "" : name[dot..].ToLowerInvariant();
        }
    }

    /// <summary>Opens a fresh read-only stream. Callers dispose it.</summary>
    public Stream OpenRead() => _open();

    /// <summary>Case-insensitive test whether the relative path contains a '/'-separated segment sequence.</summary>
    public bool PathContains(string fragment) => RelativePath.Contains(fragment, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => RelativePath;
}
