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

    /// <summary>
    /// The absolute path with every existing link on the way resolved as the kernel does it (a link's target is
    /// resolved in turn, and ".." in a target climbs from where the link leads, not from the link's text); the part
    /// that does not exist yet is kept as given. Throws <see cref="EvidenceException"/> on a link loop.
    /// </summary>
    public static string RealPath(string path)
    {
        // .NET resolves ".." of the path given textually before any system call, so that is done first too.
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full) ?? "/";
        var pending = new Stack<string>();
        Push(pending, full[root.Length..]);
        var current = root;
        bool missing = false;
        int links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part is "" or ".") continue;
            if (part == "..")
            {
                // current is already free of links, so its parent is the real parent.
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            var next = Path.Combine(current, part);
            if (missing) { current = next; continue; }
            string? target;
            try { target = new FileInfo(next).LinkTarget; }
            catch (IOException) { target = null; }
            if (target is null)
            {
                if (!Path.Exists(next)) missing = true;
                current = next;
                continue;
            }
            if (++links > 40) throw new EvidenceException($"{path}: too many levels of symbolic links (a loop)");
            if (Path.IsPathRooted(target))
            {
                var targetRoot = Path.GetPathRoot(target) ?? root;
                current = targetRoot;
                Push(pending, target[targetRoot.Length..]);
            }
            else Push(pending, target);
        }
        return current;
    }

    private static void Push(Stack<string> pending, string relative)
    {
        var parts = relative.Split(['/', Path.DirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        for (int i = parts.Length - 1; i >= 0; i--) pending.Push(parts[i]);
    }
}
