namespace Exir.Detection.Files;

/// <summary>
/// Path facts the file hunt needs, on '/'-separated evidence paths and case-insensitive on every OS
/// (evidence from a Windows server is often read on Linux, where the file system is case-sensitive).
/// </summary>
public static class WebPaths
{
    /// <summary>What a baseline records: script files, configuration and the assemblies pages load.</summary>
    public static bool IsBaselined(string relativePath, IReadOnlySet<string> scriptExtensions)
    {
        var ext = Extension(relativePath);
        return scriptExtensions.Contains(ext) || ext is ".config" or ".dll";
    }

    public static string Extension(string relativePath)
    {
        int slash = relativePath.LastIndexOf('/');
        int dot = relativePath.LastIndexOf('.');
        return dot > slash ? relativePath[dot..].ToLowerInvariant() : "";
    }

    public static string FileName(string relativePath) => relativePath[(relativePath.LastIndexOf('/') + 1)..];

    public static string Folder(string relativePath)
    {
        int slash = relativePath.LastIndexOf('/');
        return slash < 0 ? "" : relativePath[..slash];
    }

    /// <summary>True when <paramref name="path"/> contains the segment sequence <paramref name="tail"/> ("a/b" in "x/A/B/c").</summary>
    public static bool ContainsSegments(string path, string tail) =>
        IndexOfSegments(path, tail) >= 0;

    /// <summary>True when the folder <paramref name="folder"/> ends with the segment sequence <paramref name="tail"/>.</summary>
    public static bool EndsWithSegments(string folder, string tail)
    {
        if (tail.Length == 0) return true;
        if (!folder.EndsWith(tail, StringComparison.OrdinalIgnoreCase)) return false;
        return folder.Length == tail.Length || folder[folder.Length - tail.Length - 1] == '/';
    }

    /// <summary>Index in <paramref name="path"/> where the segment sequence <paramref name="tail"/> starts, or -1.</summary>
    public static int IndexOfSegments(string path, string tail)
    {
        if (tail.Length == 0) return 0;
        int from = 0;
        while (from <= path.Length - tail.Length)
        {
            int i = path.IndexOf(tail, from, StringComparison.OrdinalIgnoreCase);
            if (i < 0) return -1;
            bool startOk = i == 0 || path[i - 1] == '/';
            int end = i + tail.Length;
            bool endOk = end == path.Length || path[end] == '/';
            if (startOk && endOk) return i;
            from = i + 1;
        }
        return -1;
    }

    /// <summary>
    /// The path from the first known anchor (FrontEnd/, ClientAccess/, inetpub/) on, so a baseline made on
    /// one server's "C:\Program Files\..." matches a mounted image's "mnt/c/Program Files/...".
    /// Null when the path is under none of them.
    /// </summary>
    public static string? AnchorKey(string relativePath)
    {
        foreach (var anchor in Anchors)
        {
            int i = IndexOfSegments(relativePath, anchor);
            if (i >= 0) return relativePath[i..];
        }
        return null;
    }

    private static readonly string[] Anchors = ["FrontEnd/HttpProxy", "ClientAccess", "inetpub", "Temporary ASP.NET Files"];

    /// <summary>Case-insensitive glob on one name: '*' any run, '?' one character.</summary>
    public static bool NameMatches(string name, string pattern)
    {
        if (!pattern.Contains('*') && !pattern.Contains('?')) return name.Equals(pattern, StringComparison.OrdinalIgnoreCase);
        return Glob(name.AsSpan(), pattern.AsSpan());

        static bool Glob(ReadOnlySpan<char> s, ReadOnlySpan<char> p)
        {
            while (p.Length > 0)
            {
                if (p[0] == '*')
                {
                    p = p[1..];
                    if (p.Length == 0) return true;
                    for (int i = 0; i <= s.Length; i++)
                        if (Glob(s[i..], p)) return true;
                    return false;
                }
                if (s.Length == 0) return false;
                if (p[0] != '?' && char.ToLowerInvariant(p[0]) != char.ToLowerInvariant(s[0])) return false;
                s = s[1..];
                p = p[1..];
            }
            return s.Length == 0;
        }
    }
}
