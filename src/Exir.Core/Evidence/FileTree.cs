namespace Exir.Core.Evidence;

/// <summary>
/// The regular files under a folder for tools that take a folder of files (exir yara -r), in a stable order.
/// The folder may be evidence, so: linked folders are not followed (no loops), a file link is followed only when
/// its target stays inside the folder, FIFOs, devices and sockets are never returned (opening one blocks or never
/// ends); each of these and every unreadable folder is reported to <c>problem</c> and skipped.
/// </summary>
public static class FileTree
{
    public static IEnumerable<string> Files(string root, bool recursive, Action<string, string> problem)
    {
        string realRoot;
        try { realRoot = OutputFolder.RealPath(root); }
        catch (EvidenceException e) { problem(root, e.Message); yield break; }
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            string[] entries, subdirs;
            try
            {
                entries = Directory.GetFiles(dir);
                subdirs = recursive ? Directory.GetDirectories(dir) : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem(dir, e.Message);
                continue;
            }
            Array.Sort(entries, StringComparer.Ordinal);
            foreach (var f in entries)
                if (Readable(f, realRoot, problem)) yield return f;
            Array.Sort(subdirs, StringComparer.Ordinal);
            for (int i = subdirs.Length - 1; i >= 0; i--)
            {
                if (new DirectoryInfo(subdirs[i]).LinkTarget is not null) continue;
                pending.Push(subdirs[i]);
            }
        }
    }

    private static bool Readable(string path, string realRoot, Action<string, string> problem)
    {
        var st = NativeFile.Stat(path, followLinks: false);
        if (st.Kind == EntryKind.Missing)
        {
            problem(path, "cannot be opened by its name (removed, or a name that is not valid UTF-8): not read");
            return false;
        }
        if (st.Kind == EntryKind.Symlink)
        {
            string real;
            try { real = OutputFolder.RealPath(path); }
            catch (EvidenceException e) { problem(path, e.Message); return false; }
            if (!OutputFolder.IsInside(real, realRoot))
            {
                problem(path, $"link to {real}, outside the folder: not read");
                return false;
            }
            st = NativeFile.Stat(real, followLinks: false);
        }
        if (st.Kind == EntryKind.Regular) return true;
        problem(path, st.Kind == EntryKind.Missing ? "link target missing: not read" : $"a {NativeFile.Describe(st.Kind)}, not a regular file: not read");
        return false;
    }
}
