using Exir.Core.Coverage;

namespace Exir.Core.Evidence;

/// <summary>A root of evidence: enumerates its files, reporting what it cannot read into coverage.</summary>
public interface IEvidenceSource : IDisposable
{
    /// <summary>What the user gave us, for the report (a path).</summary>
    string Root { get; }
    /// <summary>"folder", "zip" or "file".</summary>
    string Kind { get; }
    IEnumerable<EvidenceFile> EnumerateFiles(CoverageReport coverage, CancellationToken cancellationToken = default);
}

public static class EvidenceSource
{
    /// <summary>
    /// Opens a folder, a .zip or a single file as evidence. Throws <see cref="EvidenceException"/> when the root cannot
    /// be read, or is neither a regular file nor a folder (a FIFO would block the run, a device would never end).
    /// </summary>
    public static IEvidenceSource Open(string path, EvidenceLimits? limits = null)
    {
        limits ??= EvidenceLimits.Default;
        var kind = NativeFile.KindOf(path);
        switch (kind)
        {
            case EntryKind.Directory:
                var folder = new DirectoryEvidenceSource(path, limits);
                folder.EnsureReadable();
                return folder;
            case EntryKind.Regular:
                if (LooksLikeZip(path)) return new ZipEvidenceSource(path, limits);
                return new SingleFileEvidenceSource(path);
            case EntryKind.Missing:
                throw new EvidenceException($"evidence path not found: {path}");
            default:
                throw new EvidenceException($"{path} is a {NativeFile.Describe(kind)}, not a regular file or folder: not read");
        }
    }

    private static bool LooksLikeZip(string path)
    {
        try
        {
            using var fs = NativeFile.OpenRegular(path);
            Span<byte> magic = stackalloc byte[4];
            return fs.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EvidenceException($"cannot read evidence file {path}: {e.Message}");
        }
    }

    /// <summary>What a root stands for when its evidence names no host: the folder's, zip's or file's name.</summary>
    public static string LabelOf(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        var name = Path.GetFileName(full);
        return Directory.Exists(full) ? name : Path.GetFileNameWithoutExtension(name);
    }

    /// <summary>
    /// Opens a plain file read-only, sharing with writers (live logs are open by IIS/Exchange), without updating
    /// its access time where the platform allows (Linux O_NOATIME, for the file's owner).
    /// </summary>
    public static Stream OpenPhysical(string path) => NativeFile.OpenPlain(path);
}

/// <summary>Bounds that keep hostile evidence (zip bombs, endless trees) from exhausting the machine.</summary>
public sealed record EvidenceLimits
{
    public static EvidenceLimits Default { get; } = new();
    /// <summary>Bounds on each .zip: entries, bytes per member, per archive and per scan, expansion ratio.</summary>
    public ArchiveLimits Archives { get; init; } = ArchiveLimits.Default;
}

public sealed class EvidenceException(string message) : Exception(message);
