namespace Exir.Core.Evidence;

/// <summary>
/// Evidence is never written to: an output folder inside an evidence root is refused. Paths are compared after
/// resolving symbolic links, so an output path reached through a link into the evidence is caught too.
/// </summary>
public static class OutputFolder
{
    /// <summary>Throws <see cref="EvidenceException"/> when <paramref name="outDirectory"/> lies inside (or is) one of the roots.</summary>
    public static void EnsureOutside(string outDirectory, IEnumerable<string> evidenceRoots, string option = "--out")
    {
        var output = RealPath(outDirectory);
        foreach (var root in evidenceRoots)
        {
            var r = RealPath(root);
            // A single evidence file: its folder is not evidence, the file is.
            if (File.Exists(r) && !Directory.Exists(r)) { if (Same(output, r)) throw Inside(outDirectory, root, option); continue; }
            if (IsInside(output, r)) throw Inside(outDirectory, root, option);
        }
    }

    private static EvidenceException Inside(string output, string root, string option) =>
        new($"{option} {output} is inside the evidence {root}; write results elsewhere (evidence is never changed)");

    public static bool IsInside(string candidate, string root)
    {
        var sep = Path.DirectorySeparatorChar;
        var r = root.TrimEnd(sep) + sep;
        var c = candidate.TrimEnd(sep) + sep;
        return c.StartsWith(r, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
    }

    private static bool Same(string a, string b) =>
        string.Equals(a.TrimEnd(Path.DirectorySeparatorChar), b.TrimEnd(Path.DirectorySeparatorChar),
            OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>The absolute path with every existing link on the way resolved (the part that does not exist yet is kept as given).</summary>
    public static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full) ?? "/";
        var current = root;
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (!info.Exists) return Path.Combine([next, .. parts[(i + 1)..]]);
            try
            {
                if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target) next = Path.GetFullPath(target.FullName);
            }
            catch (IOException) { }
            current = next;
        }
        return current;
    }
}
